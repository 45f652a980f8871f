import Foundation
import HeraldCore
import HeraldTestUtils
import HeraldTesting
import HeraldWire
import NIOCore
import Testing

@testable import HeraldCore
@testable import HeraldGateway

/// Three gateways in one process with the cluster runtime, over the in-memory directory,
/// registry and bus: delivery crosses nodes, the replace rule holds cluster-wide.
@Suite(.timeLimit(.minutes(1))) struct ClusterNodeTests {
    @Test func aUnicastOnOneNodeReachesAClientOnAnother() async throws {
        try await TestCluster.with(nodes: 3) { cluster in
            let client = try await cluster.nodes[2].client(user: "alice")
            defer { Task { await client.close() } }
            #expect(try await cluster.waitForDirectory(user: "alice", sessions: 1))
            cluster.bus.forget()
            let written = await cluster.nodes[0].delivery.sendToUsers(
                app: "demo", users: ["alice", "alice", "nobody"], payload: ByteBuffer(string: "hi"))
            #expect(written == 1)
            let push = try await client.receivePush()
            #expect(push.body.payload == ByteBuffer(string: "hi"))
            let published = cluster.bus.messages
            #expect(published.count == 1)
            #expect(published.first?.1 == .node("n3"))
        }
    }

    @Test func aBatchIsOneBusMessagePerOtherNodeWithOnlyItsUsers() async throws {
        try await TestCluster.with(nodes: 3) { cluster in
            let local = try await cluster.nodes[0].client(user: "alice")
            let onB = try await cluster.nodes[1].client(user: "bob")
            let onC = try await cluster.nodes[2].client(user: "carol")
            #expect(try await cluster.waitForDirectory(user: "alice", sessions: 1))
            #expect(try await cluster.waitForDirectory(user: "bob", sessions: 1))
            #expect(try await cluster.waitForDirectory(user: "carol", sessions: 1))
            cluster.bus.forget()
            let counts = await cluster.nodes[0].delivery.sendUserMessages(
                app: "demo",
                [
                    .live(users: ["alice", "bob"], payload: ByteBuffer(string: "one")),
                    .stored(
                        deliveries: [UserSequence(user: "carol", seq: 7), UserSequence(user: "bob", seq: 3)],
                        payload: ByteBuffer(string: "two")),
                    .live(users: ["nobody"], payload: ByteBuffer(string: "three")),
                ])
            #expect(counts == [2, 2, 0])
            let published = cluster.bus.messages
            #expect(published.count == 2)
            // Both nodes' shares in one call: one round trip on Redis.
            #expect(cluster.bus.batches.map { Set($0) } == [[.node("n2"), .node("n3")]])
            for (message, target) in published {
                guard case .userMessages(_, let messages) = message.body else {
                    Issue.record("not user messages: \(message.body)")
                    continue
                }
                switch target {
                case .node("n2"): #expect(messages.count == 2)
                case .node("n3"): #expect(messages.count == 1)
                default: Issue.record("published to \(target)")
                }
            }
            #expect(try await local.receivePush().body.payload == ByteBuffer(string: "one"))
            #expect(try await onB.receivePush().body.payload == ByteBuffer(string: "one"))
            let stored = try await onB.receivePush()
            #expect(stored.body.payload == ByteBuffer(string: "two") && stored.seq == 3)
            let carol = try await onC.receivePush()
            #expect(carol.body.payload == ByteBuffer(string: "two") && carol.seq == 7)
            for client in [local, onB, onC] { await client.close() }
        }
    }

    @Test func aBroadcastReachesEveryNode() async throws {
        try await TestCluster.with(nodes: 3) { cluster in
            var clients: [RawClient] = []
            for (index, node) in cluster.nodes.enumerated() {
                clients.append(try await node.client(user: "user\(index)"))
            }
            // The other nodes' load, as recorded at their last renewal, is the remote count.
            await cluster.renewAll()
            let written = await cluster.nodes[0].delivery.broadcast(app: "demo", seq: 1, payload: ByteBuffer(string: "all"))
            #expect(written == 3)
            for client in clients {
                let push = try await client.receivePush()
                #expect(push.body.kind == .broadcast && push.body.payload == ByteBuffer(string: "all"))
                await client.close()
            }
        }
    }

    @Test func aKickReachesTheNodeThatHoldsTheUser() async throws {
        try await TestCluster.with(nodes: 3) { cluster in
            let phone = try await cluster.nodes[1].client(user: "alice", device: "phone")
            let tablet = try await cluster.nodes[2].client(user: "alice", device: "tablet")
            #expect(try await cluster.waitForDirectory(user: "alice", sessions: 2))
            cluster.bus.forget()
            #expect(await cluster.nodes[0].delivery.kick(app: "demo", user: "alice", device: "phone") == 1)
            #expect(try await phone.receiveGoAway().reason == GoAwayReason.kicked.rawValue)
            #expect(cluster.bus.messages.map(\.1) == [.node("n2")])
            try await tablet.ping()
            await phone.close()
            await tablet.close()
        }
    }

    @Test func anAuthOnOneNodeReplacesTheSameDeviceOnAnother() async throws {
        try await TestCluster.with(nodes: 2) { cluster in
            let first = try await cluster.nodes[0].client(user: "alice")
            #expect(try await cluster.waitForDirectory(user: "alice", sessions: 1))
            let second = try await cluster.nodes[1].client(user: "alice")
            #expect(try await first.receiveGoAway().reason == GoAwayReason.replaced.rawValue)
            try await second.ping()
            var holder: [SessionInfo] = []
            let moved = await eventually {
                holder = (try? await cluster.nodes[0].delivery.sessions(app: "demo", user: "alice")) ?? []
                return holder.map(\.node) == ["n2"]
            }
            let unfiltered = try await cluster.directory.sessions(
                app: "demo", users: ["alice"], liveNodes: ["n1", "n2"])
            #expect(
                moved,
                """
                n1 sees \(holder.map(\.node)) holding alice's device, with live nodes \
                \(cluster.nodes[0].liveNodes.ids.map(\.string).sorted()); the directory has \
                \(unfiltered.first?.map(\.node) ?? [])
                """)
            #expect(await cluster.nodes[0].gateway.localSessions().isEmpty)
            await first.close()
            await second.close()
        }
    }

    @Test func twoAuthsOfOneDeviceAtOnceLeaveOneSession() async throws {
        try await TestCluster.with(nodes: 2) { cluster in
            async let a = cluster.nodes[0].client(user: "alice")
            async let b = cluster.nodes[1].client(user: "alice")
            let clients = try await [a, b]
            let remaining = await eventually {
                let held = await cluster.nodes[0].gateway.localSessions().count
                    + cluster.nodes[1].gateway.localSessions().count
                return held == 1
            }
            #expect(remaining)
            let listed = try await cluster.nodes[0].delivery.sessions(app: "demo", user: "alice")
            #expect(listed.count == 1)
            let holderNode = listed.first?.node
            let held = await cluster.nodes.first { $0.id == holderNode }?.gateway.localSessions() ?? []
            #expect(held.count == 1)
            for client in clients { await client.close() }
        }
    }

    @Test func anAppChangedOnOneNodeIsReloadedOnTheOthers() async throws {
        try await TestCluster.with(nodes: 2) { cluster in
            let app = App(id: "fresh", secret: "fresh-secret", epoch: "e1", createdAt: .now)
            try await cluster.catalog.create(app)
            #expect(cluster.nodes[1].apps.app(id: "fresh") == nil)
            try await cluster.bus.publish(BusMessage(origin: "n1", body: .appChanged(app: "fresh")), to: .all)
            #expect(await eventually { cluster.nodes[1].apps.app(id: "fresh") != nil })
            // Gone from the catalog: gone from the registry.
            cluster.nodes[1].apps.upsert(App(id: "gone", secret: "s", epoch: "e", createdAt: .now))
            await cluster.nodes[1].receiver.handle(.appChanged(app: "gone"))
            #expect(cluster.nodes[1].apps.app(id: "gone") == nil)
        }
    }

    @Test func aResubscribedBusRestoresTheSessionsAndApps() async throws {
        try await TestCluster.with(nodes: 2) { cluster in
            let client = try await cluster.nodes[1].client(user: "alice")
            #expect(try await cluster.waitForDirectory(user: "alice", sessions: 1))
            _ = try await cluster.directory.removeSessions(ofNode: "n2")
            #expect(try await cluster.waitForDirectory(user: "alice", sessions: 0))
            cluster.bus.simulateResubscribe()
            #expect(try await cluster.waitForDirectory(user: "alice", sessions: 1))
            await client.close()
        }
    }

    @Test func busMessagesAreHandledWhileARecoveryWaitsForTheStore() async throws {
        try await TestCluster.with(nodes: 2) { cluster in
            let client = try await cluster.nodes[1].client(user: "alice")
            defer { Task { await client.close() } }
            #expect(try await cluster.waitForDirectory(user: "alice", sessions: 1))
            cluster.catalog.close()
            defer { cluster.catalog.open() }
            cluster.bus.simulateResubscribe()
            #expect(await eventually { cluster.catalog.held == 2 })
            // Both nodes' recoveries wait for the store; their messages do not.
            _ = await cluster.nodes[0].delivery.sendToUsers(app: "demo", users: ["alice"], payload: ByteBuffer(string: "meanwhile"))
            #expect(try await client.receivePush().body.payload == ByteBuffer(string: "meanwhile"))
            // An app change waits for the recovery, so the recovery's list cannot undo it.
            let app = App(id: "later", secret: "later-secret", epoch: "e1", createdAt: .now)
            try await cluster.catalog.create(app)
            try await cluster.bus.publish(BusMessage(origin: "n1", body: .appChanged(app: "later")), to: .node("n2"))
            cluster.catalog.open()
            #expect(await eventually { cluster.nodes[1].apps.app(id: "later") != nil })
            #expect(try await cluster.waitForDirectory(user: "alice", sessions: 1))
        }
    }
}
