import HeraldCore
import Testing

extension ClusterStateContract {
    /// Node leases and per-app load.
    @Suite("Node registry")
    struct NodeRegistryContractTests {
        @Test(arguments: ClusterStateKind.allCases)
        func renewSaysWhetherTheLeaseWasCurrent(kind: ClusterStateKind) async throws {
            try await ClusterState.with(kind) { state in
                let registry = state.registry
                let lease = ClusterStateContract.lease("node-a", sessions: 3)
                #expect(try await registry.renew(lease, ttl: .seconds(60)) == false)
                #expect(try await registry.renew(lease, ttl: .seconds(60)) == true)
                #expect(try await registry.renew(ClusterStateContract.lease("node-b"), ttl: .seconds(60)) == false)
                let live = try await registry.liveNodes()
                #expect(live.sorted { $0.node < $1.node } == [lease, ClusterStateContract.lease("node-b")])

                try await registry.withdraw(node: "node-a")
                #expect(try await registry.liveNodes().map(\.node) == ["node-b"])
                #expect(try await registry.renew(lease, ttl: .seconds(60)) == false)
            }
        }

        @Test(arguments: ClusterStateKind.allCases)
        func aLapsedLeaseIsNotLive(kind: ClusterStateKind) async throws {
            try await ClusterState.with(kind) { state in
                let registry = state.registry
                _ = try await registry.renew(ClusterStateContract.lease("short"), ttl: .milliseconds(300))
                _ = try await registry.renew(ClusterStateContract.lease("long"), ttl: .seconds(120))
                let lapsed = try await ClusterStateContract.eventually(within: 20) {
                    try await registry.liveNodes().map(\.node) == ["long"]
                }
                #expect(lapsed)
                // The node learns on its next renewal that it was cut off.
                #expect(try await registry.renew(ClusterStateContract.lease("short"), ttl: .seconds(60)) == false)
                #expect(Set(try await registry.liveNodes().map(\.node)) == ["short", "long"])
            }
        }

        @Test(arguments: ClusterStateKind.allCases)
        func loadIsRecordedPerAppAndNode(kind: ClusterStateKind) async throws {
            try await ClusterState.with(kind) { state in
                let registry = state.registry
                try await registry.recordLoad(
                    node: "node-a", apps: ["chat": SessionCounts(sessions: 5, users: 3), "news": SessionCounts(sessions: 1, users: 1)])
                try await registry.recordLoad(node: "node-b", apps: ["chat": SessionCounts(sessions: 2, users: 2)])
                #expect(
                    try await registry.load(app: "chat")
                        == ["node-a": SessionCounts(sessions: 5, users: 3), "node-b": SessionCounts(sessions: 2, users: 2)])
                #expect(try await registry.load(app: "news") == ["node-a": SessionCounts(sessions: 1, users: 1)])

                try await registry.recordLoad(node: "node-a", apps: ["chat": SessionCounts(sessions: 0, users: 0)])
                #expect(try await registry.load(app: "chat") == ["node-b": SessionCounts(sessions: 2, users: 2)])
                #expect(try await registry.load(app: "none").isEmpty)
            }
        }
    }
}
