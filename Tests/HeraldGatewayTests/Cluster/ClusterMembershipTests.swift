import Foundation
import HeraldCore
import HeraldTestUtils
import HeraldTesting
import HeraldWire
import Testing

@testable import HeraldCore
@testable import HeraldGateway

/// The lease loop: restoring sessions the registry lost, forgetting dead nodes' sessions,
/// sending clients away while the node is cut off, and stopping once another process took
/// the node's id.
@Suite(.timeLimit(.minutes(1))) struct ClusterMembershipTests {
    @Test func everyNodeSeesTheOthersReadyWithTheirEndpoints() async throws {
        try await TestCluster.with(nodes: 3) { cluster in
            let leases = cluster.nodes[0].liveNodes.leases.sorted { $0.node < $1.node }
            #expect(leases.map(\.node) == ["n1", "n2", "n3"])
            #expect(leases.allSatisfy { $0.state == .ready && $0.roles == .all && $0.tcpEndpoint != nil })
        }
    }

    @Test func aLapsedLeaseRestoresTheNodesSessions() async throws {
        try await TestCluster.with(nodes: 2) { cluster in
            let client = try await cluster.nodes[1].client(user: "alice")
            #expect(try await cluster.waitForDirectory(user: "alice", sessions: 1))
            // As after a Redis restart: the lease and the sessions are gone.
            try await cluster.registry.registry.withdraw(node: "n2")
            _ = try await cluster.directory.removeSessions(ofNode: "n2")
            #expect(try await cluster.waitForDirectory(user: "alice", sessions: 0))
            var state = ClusterMembership<Gateway>.State()
            await cluster.nodes[1].membership.renew(&state)
            #expect(try await cluster.waitForDirectory(user: "alice", sessions: 1))
            await client.close()
        }
    }

    @Test func afterTheRegistryLostEveryLeaseANodeKeepsTheOthersUntilTheyRenewOrALeasePasses() async throws {
        try await TestCluster.with(nodes: 3) { cluster in
            var state = ClusterMembership<Gateway>.State()
            await cluster.nodes[0].membership.renew(&state)
            #expect(cluster.nodes[0].liveNodes.ids == ["n1", "n2", "n3"])
            // As after a Redis restart: every lease is gone, and n1 renews first.
            for node in ["n1", "n2", "n3"] { try await cluster.registry.registry.withdraw(node: node) }
            await cluster.nodes[0].membership.renew(&state)
            #expect(cluster.nodes[0].liveNodes.ids == ["n1", "n2", "n3"], "n2 and n3 have not renewed yet")
            // n2 renews; n3 does not: n1 still offers it for the rest of a lease.
            var other = ClusterMembership<Gateway>.State()
            await cluster.nodes[1].membership.renew(&other)
            await cluster.nodes[0].membership.renew(&state)
            #expect(cluster.nodes[0].liveNodes.ids == ["n1", "n2", "n3"])
            #expect(state.missing.filter { $0.value.kept != nil }.keys.map(\.string) == ["n3"])
            // The registry loses every lease again before n3 renewed: n3 keeps its first instant,
            // so repeated losses never keep a dead node longer than a lease.
            let since = try #require(state.missing[ByteString("n3")]?.since)
            for node in ["n1", "n2"] { try await cluster.registry.registry.withdraw(node: node) }
            await cluster.nodes[0].membership.renew(&state)
            #expect(cluster.nodes[0].liveNodes.ids == ["n1", "n2", "n3"])
            #expect(state.missing[ByteString("n3")]?.since == since)
            await cluster.nodes[1].membership.renew(&other)
            // A lease after n3 went, a node that never renewed is not live any more.
            state.missing[ByteString("n3")]?.since = .now - TestCluster.leaseTTL
            await cluster.nodes[0].membership.renew(&state)
            #expect(cluster.nodes[0].liveNodes.ids == ["n1", "n2"])
            #expect(state.missing.isEmpty, "n3's sessions were removed a lease after it went")
            // An ordinary renewal keeps nothing: a node whose lease lapsed is gone at once.
            try await cluster.registry.registry.withdraw(node: "n2")
            await cluster.nodes[0].membership.renew(&state)
            #expect(cluster.nodes[0].liveNodes.ids == ["n1"])
        }
    }

    @Test func aDeadNodesSessionsAreRemovedALeaseAfterItLeft() async throws {
        try await TestCluster.with(nodes: 2) { cluster in
            let client = try await cluster.nodes[1].client(user: "alice")
            #expect(try await cluster.waitForDirectory(user: "alice", sessions: 1))
            var state = ClusterMembership<Gateway>.State()
            state.lastView = cluster.nodes[0].liveNodes.leases.filter { $0.node == "n2" }
            #expect(state.lastView.count == 1)
            try await cluster.registry.registry.withdraw(node: "n2")
            await cluster.nodes[0].membership.renew(&state)
            #expect(!state.lastView.contains { $0.node == "n2" })
            // Gone for less than a lease (it may be a Redis restart): its sessions stay recorded.
            let kept = try await cluster.directory.sessions(app: "demo", users: ["alice"], liveNodes: ["n1", "n2"])
            #expect(kept.first?.count == 1)
            // Gone for a whole lease: cleared.
            state.missing[ByteString("n2")]?.since = .now - TestCluster.leaseTTL
            await cluster.nodes[0].membership.renew(&state)
            #expect(state.missing.isEmpty)
            let recorded = try await cluster.directory.sessions(app: "demo", users: ["alice"], liveNodes: ["n1", "n2"])
            #expect(recorded.first?.isEmpty == true)
            await client.close()
        }
    }

    @Test func aCutOffNodeSendsItsClientsAwayUntilItRenewsAgain() async throws {
        try await TestCluster.with(nodes: 1) { cluster in
            let node = cluster.nodes[0]
            let client = try await node.client(user: "alice")
            var state = ClusterMembership<Gateway>.State()
            await node.membership.renew(&state)
            cluster.registry.sever(true)
            // A failing renewal within the lease changes nothing.
            await node.membership.renew(&state)
            #expect(!state.cutOff && !node.gateway.isDrainingClients)
            // Past the lease (the last renewal moved back rather than waited for), the clients go.
            state.lastRenewal = .now - TestCluster.leaseTTL - .seconds(1)
            await node.membership.renew(&state)
            #expect(state.cutOff)
            #expect(try await client.receiveGoAway().reason == GoAwayReason.draining.rawValue)
            #expect(node.gateway.isDrainingClients)
            cluster.registry.sever(false)
            await node.membership.renew(&state)
            #expect(!state.cutOff && !node.gateway.isDrainingClients)
            let lease = try await cluster.registry.liveNodes().first
            #expect(lease?.state == .ready)
            let again = try await node.client(user: "alice")
            await again.close()
            await client.close()
        }
    }

    @Test func aNodeWhoseIDWasTakenStopsRatherThanFightForIt() async throws {
        try await TestCluster.with(nodes: 1) { cluster in
            let node = cluster.nodes[0]
            // Another process took the id while this one was cut off for longer than its lease.
            try await cluster.registry.registry.withdraw(node: "n1")
            let other = NodeLease(
                node: "n1", roles: .all, state: .ready, tcpEndpoint: nil, webSocketEndpoint: nil, maxConnections: 10,
                connections: 0, sessions: 0, cpu: 0, startedAt: Date(timeIntervalSince1970: 0), incarnation: "other")
            #expect(try await cluster.registry.renew(other, ttl: TestCluster.leaseTTL) == .lapsed)

            var state = ClusterMembership<Gateway>.State()
            await node.membership.renew(&state)
            #expect(state.takenBy == other)
            #expect(try await cluster.registry.liveNodes() == [other])
            await #expect(throws: NodeIDInUseError(node: "n1", moment: .whileServing)) {
                try await node.membership.run()
            }
            #expect(try await cluster.registry.liveNodes() == [other])
        }
    }
}

extension ClusterMembershipTests {
    @Test func aNodeBackWithinALeaseKeepsItsSessions() async throws {
        try await TestCluster.with(nodes: 2) { cluster in
            let client = try await cluster.nodes[1].client(user: "alice")
            #expect(try await cluster.waitForDirectory(user: "alice", sessions: 1))
            var state = ClusterMembership<Gateway>.State()
            // Missing at one renewal (its lease lost with a restarted Redis), live at the next.
            state.missing[ByteString("n2")]?.since = .now - TestCluster.leaseTTL / 2
            await cluster.nodes[0].membership.renew(&state)
            #expect(state.missing.isEmpty)
            #expect(try await cluster.waitForDirectory(user: "alice", sessions: 1))
            await client.close()
        }
    }
}
