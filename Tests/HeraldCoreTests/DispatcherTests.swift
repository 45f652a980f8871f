import Foundation
import HeraldCore
import Testing

/// Dispatch spreads users evenly, keeps each user's choice stable, and offers only ready
/// gateway nodes.
@Suite struct DispatcherTests {
    static func lease(_ node: String, state: NodeLease.State = .ready, roles: NodeLease.Roles = .all, connections: Int = 0)
        -> NodeLease
    {
        NodeLease(
            node: node, roles: roles, state: state, tcpEndpoint: "\(node):7070", webSocketEndpoint: "ws://\(node):7071/ws",
            maxConnections: 10_000, connections: connections, sessions: 0, cpu: 0,
            startedAt: Date(timeIntervalSince1970: 0))
    }

    @Test func usersSpreadEvenlyOverEqualNodes() {
        let leases = ["a", "b", "c"].map { Self.lease($0) }
        var counts: [String: Int] = [:]
        for user in 0..<10_000 {
            counts[Dispatcher().nodes(for: "user-\(user)", among: leases)[0].node, default: 0] += 1
        }
        // A third each, within 3 % of all users.
        for node in ["a", "b", "c"] {
            #expect(abs((counts[node] ?? 0) - 3333) < 300, "node \(node) got \(counts[node] ?? 0)")
        }
    }

    @Test func removingANodeMovesOnlyItsUsers() {
        let all = ["a", "b", "c"].map { Self.lease($0) }
        let withoutC = Array(all.prefix(2))
        for user in 0..<2000 {
            let before = Dispatcher().nodes(for: "user-\(user)", among: all)[0].node
            let after = Dispatcher().nodes(for: "user-\(user)", among: withoutC)[0].node
            if before != "c" { #expect(before == after) }
        }
    }

    @Test func theLessLoadedNodeGetsMoreUsers() {
        let leases = [Self.lease("a", connections: 9000), Self.lease("b")]
        var onA = 0
        for user in 0..<2000 where Dispatcher().nodes(for: "user-\(user)", among: leases)[0].node == "a" {
            onA += 1
        }
        #expect(onA < 400)
    }

    @Test func drainingAndAPIOnlyNodesAreNeverOffered() {
        let leases = [
            Self.lease("a", state: .draining), Self.lease("b", roles: .api), Self.lease("c"),
        ]
        for user in 0..<500 {
            #expect(Dispatcher().nodes(for: "user-\(user)", among: leases).map(\.node) == ["c"])
        }
        #expect(Dispatcher().nodes(for: "x", among: [Self.lease("a", state: .draining)]).isEmpty)
    }

    @Test func eachUserKeepsItsOrder() {
        let leases = ["a", "b", "c"].map { Self.lease($0) }
        let first = Dispatcher().nodes(for: "alice", among: leases).map(\.node)
        #expect(Dispatcher().nodes(for: "alice", among: leases.reversed()).map(\.node) == first)
        #expect(first.count == 3)
    }
}
