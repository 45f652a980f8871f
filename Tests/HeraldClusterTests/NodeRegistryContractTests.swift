import HeraldCore
import Logging
import Testing

extension ClusterStateContract {
    /// Node leases, one process per node id, and per-app load.
    @Suite("Node registry")
    struct NodeRegistryContractTests {
        @Test(arguments: ClusterStateKind.allCases)
        func renewSaysWhetherTheLeaseWasCurrent(kind: ClusterStateKind) async throws {
            try await ClusterState.with(kind) { state in
                let registry = state.registry
                let lease = ClusterStateContract.lease("node-a", sessions: 3)
                #expect(try await registry.renew(lease, ttl: .seconds(60)) == .lapsed)
                #expect(try await registry.renew(lease, ttl: .seconds(60)) == .renewed)
                #expect(try await registry.renew(ClusterStateContract.lease("node-b"), ttl: .seconds(60)) == .lapsed)
                let live = try await registry.liveNodes()
                #expect(live.sorted { $0.node < $1.node } == [lease, ClusterStateContract.lease("node-b")])

                try await registry.withdraw(node: "node-a")
                #expect(try await registry.liveNodes().map(\.node) == ["node-b"])
                #expect(try await registry.renew(lease, ttl: .seconds(60)) == .lapsed)
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
                #expect(try await registry.renew(ClusterStateContract.lease("short"), ttl: .seconds(60)) == .lapsed)
                #expect(Set(try await registry.liveNodes().map(\.node)) == ["short", "long"])
            }
        }

        @Test(arguments: ClusterStateKind.allCases)
        func anotherProcessCannotRenewOrWithdrawTheLease(kind: ClusterStateKind) async throws {
            try await ClusterState.with(kind) { state in
                let registry = state.registry
                let first = ClusterStateContract.lease("node-a", incarnation: "first")
                let second = ClusterStateContract.lease("node-a", incarnation: "second")
                #expect(try await registry.renew(first, ttl: .seconds(60)) == .lapsed)
                #expect(try await registry.renew(second, ttl: .seconds(60)) == .taken(by: first))
                #expect(try await registry.liveNodes() == [first])

                // The holder renews as before; the other process's withdrawal leaves its lease alone.
                let renewed = ClusterStateContract.lease("node-a", incarnation: "first", renewal: 2)
                #expect(try await registry.renew(renewed, ttl: .seconds(60)) == .renewed)
                try await registry.withdraw(node: "node-a", incarnation: "second")
                #expect(try await registry.liveNodes() == [renewed])
                try await registry.withdraw(node: "node-a", incarnation: "first")
                #expect(try await registry.liveNodes().isEmpty)
                #expect(try await registry.renew(second, ttl: .seconds(60)) == .lapsed)
            }
        }

        @Test(arguments: ClusterStateKind.allCases)
        func aLapsedLeaseGoesToTheNextProcess(kind: ClusterStateKind) async throws {
            try await ClusterState.with(kind) { state in
                let registry = state.registry
                let first = ClusterStateContract.lease("node-a", incarnation: "first")
                let second = ClusterStateContract.lease("node-a", incarnation: "second")
                #expect(try await registry.renew(first, ttl: .milliseconds(300)) == .lapsed)
                let lapsed = try await ClusterStateContract.eventually(within: 20) {
                    try await registry.liveNodes().isEmpty
                }
                #expect(lapsed)
                #expect(try await registry.renew(second, ttl: .seconds(60)) == .lapsed)
                // The first process, back from a stall, finds its id taken and writes nothing.
                #expect(try await registry.renew(first, ttl: .seconds(60)) == .taken(by: second))
                #expect(try await registry.liveNodes() == [second])
            }
        }

        @Test(arguments: ClusterStateKind.allCases)
        func aClaimWaitsForTheLeaseOfAStoppedProcessToLapse(kind: ClusterStateKind) async throws {
            try await ClusterState.with(kind) { state in
                let registry = state.registry
                // A process that was killed: its lease and a session are left behind.
                _ = try await registry.renew(ClusterStateContract.lease("node-a", incarnation: "killed"), ttl: .milliseconds(500))
                _ = try await state.directory.register(ClusterStateContract.session(node: "node-a"))
                let lease = ClusterStateContract.lease("node-a", incarnation: "restarted")
                let claim = NodeIDClaim(
                    registry: registry, directory: state.directory, lease: lease, leaseTTL: .seconds(1),
                    logger: Logger(label: "node-registry-contract"))
                try await claim.run()
                #expect(try await registry.liveNodes() == [lease])
                let sessions = try await state.directory.sessions(
                    app: ClusterStateContract.app, users: ["alice"], liveNodes: ["node-a"])
                #expect(sessions == [[]])
            }
        }

        @Test(arguments: ClusterStateKind.allCases)
        func aClaimRefusesAnIdWhoseLeaseIsRenewed(kind: ClusterStateKind) async throws {
            try await ClusterState.with(kind) { state in
                let registry = state.registry
                let holder = ClusterStateContract.lease("node-a", incarnation: "running", renewal: 1)
                _ = try await registry.renew(holder, ttl: .seconds(60))
                // The running node renews meanwhile, as every node does every third of its lease.
                let renewing = Task {
                    var renewal: UInt64 = 1
                    while !Task.isCancelled {
                        renewal += 1
                        let lease = ClusterStateContract.lease("node-a", incarnation: "running", renewal: renewal)
                        _ = try? await registry.renew(lease, ttl: .seconds(60))
                        try? await Task.sleep(for: .milliseconds(50))
                    }
                }
                let claim = NodeIDClaim(
                    registry: registry, directory: state.directory,
                    lease: ClusterStateContract.lease("node-a", incarnation: "second"), leaseTTL: .seconds(1),
                    logger: Logger(label: "node-registry-contract"))
                await #expect(throws: NodeIDInUseError(node: "node-a", moment: .atStart)) {
                    try await claim.run()
                }
                renewing.cancel()
                await renewing.value
                #expect(try await registry.liveNodes().map(\.incarnation) == ["running"])
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
