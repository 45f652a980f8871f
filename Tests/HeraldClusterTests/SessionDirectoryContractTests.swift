import HeraldCore
import HeraldRESP
import Testing

extension ClusterStateContract {
    /// The shared directory: one holder per device, the order, and the node's record of its sessions.
    @Suite("Session directory")
    struct SessionDirectoryContractTests {
        static let live: Set<ByteString> = ["node-a", "node-b"]

        @Test(arguments: ClusterStateKind.allCases)
        func registerAnswersTheDisplacedAndTheOrder(kind: ClusterStateKind) async throws {
            try await ClusterState.with(kind) { state in
                let directory = state.directory
                let first = ClusterStateContract.session(connection: 1)
                let second = ClusterStateContract.session(node: "node-b", connection: 2)
                let laptop = ClusterStateContract.session(device: "laptop", connection: 3)

                let one = try await directory.register(first)
                #expect(one.displaced == nil)
                let two = try await directory.register(second)
                #expect(two.order > one.order)
                let displaced = try #require(two.displaced)
                #expect(displaced == first)
                #expect(displaced.order == one.order)
                #expect(displaced.since.millisecondsSince1970 == first.since.millisecondsSince1970)
                let three = try await directory.register(laptop)
                #expect(three.order > two.order)
                #expect(three.displaced == nil)

                let sessions = try await directory.sessions(app: ClusterStateContract.app, users: ["alice"], liveNodes: Self.live)
                #expect(sessions == [[second, laptop]])
                #expect(sessions.first?.map(\.order) == [two.order, three.order])
                #expect(sessions.first?.first?.since.millisecondsSince1970 == second.since.millisecondsSince1970)
                #expect(sessions.first?.first?.id.generation == second.id.generation)

                // The same session again keeps its place and displaces nobody.
                let again = try await directory.register(second)
                #expect(again == SessionRegistration(order: two.order, displaced: nil))
            }
        }

        @Test(arguments: ClusterStateKind.allCases)
        func aBatchRegistersInOrderWithTwoDevicesOfOneUser(kind: ClusterStateKind) async throws {
            try await ClusterState.with(kind) { state in
                let directory = state.directory
                let phone = ClusterStateContract.session(device: "phone", connection: 1)
                let laptop = ClusterStateContract.session(device: "laptop", connection: 2)
                let bob = ClusterStateContract.session(user: "bob", connection: 3)
                let registrations = try await directory.register([phone, laptop, bob]).map { try $0.get() }
                #expect(registrations.count == 3)
                #expect(registrations.allSatisfy { $0.displaced == nil })
                #expect(registrations[0].order < registrations[1].order)
                let answer = try await directory.sessions(app: ClusterStateContract.app, users: ["alice", "bob"], liveNodes: Self.live)
                #expect(answer == [[phone, laptop], [bob]])
                #expect(answer.first?.map(\.order) == [registrations[0].order, registrations[1].order])
                #expect(try await directory.register([]).isEmpty)
            }
        }

        @Test(arguments: ClusterStateKind.allCases)
        func theReplaceRuleHoldsInsideABatch(kind: ClusterStateKind) async throws {
            try await ClusterState.with(kind) { state in
                let directory = state.directory
                let onB = ClusterStateContract.session(node: "node-b", connection: 1)
                let first = ClusterStateContract.session(connection: 2)
                let second = ClusterStateContract.session(connection: 3)
                let laptop = ClusterStateContract.session(device: "laptop", connection: 4)
                _ = try await directory.register(onB)
                // Two AUTHs of one device in one batch: each displaces the one before it, across nodes too.
                let registrations = try await directory.register([first, second, laptop]).map { try $0.get() }
                #expect(registrations.map(\.displaced) == [onB, first, nil])
                #expect(registrations[0].order < registrations[1].order && registrations[1].order < registrations[2].order)
                #expect(
                    try await directory.sessions(app: ClusterStateContract.app, users: ["alice"], liveNodes: Self.live)
                        == [[second, laptop]])
            }
        }

        @Test(arguments: ClusterStateKind.allCases)
        func aBatchOfRemovalsRemovesOnlyTheHolders(kind: ClusterStateKind) async throws {
            try await ClusterState.with(kind) { state in
                let directory = state.directory
                let first = ClusterStateContract.session(connection: 1)
                let second = ClusterStateContract.session(connection: 2)
                let laptop = ClusterStateContract.session(device: "laptop", connection: 3)
                let bob = ClusterStateContract.session(user: "bob", connection: 4)
                _ = try await directory.register([first, second, laptop, bob])
                // The displaced first leaves its successor alone; the laptop and bob go.
                try await directory.unregister([first, laptop, bob])
                #expect(
                    try await directory.sessions(app: ClusterStateContract.app, users: ["alice", "bob"], liveNodes: Self.live)
                        == [[second], []])
                try await directory.unregister([second, second])
                try await directory.unregister([])
                #expect(
                    try await directory.sessions(app: ClusterStateContract.app, users: ["alice"], liveNodes: Self.live) == [[]])
                // What the node recorded went with them.
                #expect(try await directory.removeSessions(ofNode: "node-a") == 0)
            }
        }

        @Test(arguments: ClusterStateKind.allCases)
        func unregisterRemovesOnlyTheHolder(kind: ClusterStateKind) async throws {
            try await ClusterState.with(kind) { state in
                let directory = state.directory
                let first = ClusterStateContract.session(connection: 1)
                let second = ClusterStateContract.session(connection: 2)
                _ = try await directory.register(first)
                _ = try await directory.register(second)

                try await directory.unregister(first)
                #expect(try await directory.sessions(app: ClusterStateContract.app, users: ["alice"], liveNodes: Self.live) == [[second]])
                try await directory.unregister(second)
                #expect(try await directory.sessions(app: ClusterStateContract.app, users: ["alice"], liveNodes: Self.live) == [[]])
                // Twice is harmless.
                try await directory.unregister(second)
            }
        }

        @Test(arguments: ClusterStateKind.allCases)
        func concurrentRegistersLeaveOneHolderAndEachLearnsTheTruth(kind: ClusterStateKind) async throws {
            try await ClusterState.with(kind) { state in
                let directory = state.directory
                let sessions = (1...40).map { ClusterStateContract.session(node: $0 % 2 == 0 ? "node-a" : "node-b", connection: UInt64($0)) }
                let registrations = try await withThrowingTaskGroup(of: (SessionInfo, SessionRegistration).self) { group in
                    for session in sessions {
                        group.addTask { (session, try await directory.register(session)) }
                    }
                    return try await group.reduce(into: []) { $0.append($1) }
                }
                let orders = registrations.map(\.1.order)
                #expect(Set(orders).count == sessions.count)
                let holder = try #require(registrations.max { $0.1.order < $1.1.order }?.0)
                #expect(try await directory.sessions(app: ClusterStateContract.app, users: ["alice"], liveNodes: Self.live) == [[holder]])
                // Each session but the holder was displaced exactly once, by the next in order;
                // the first displaced nobody.
                let displaced = registrations.compactMap(\.1.displaced)
                #expect(displaced.count == sessions.count - 1)
                #expect(Set(displaced) == Set(sessions).subtracting([holder]))
                let byOrder = registrations.sorted { $0.1.order < $1.1.order }
                for (previous, next) in zip(byOrder, byOrder.dropFirst()) {
                    #expect(next.1.displaced == previous.0)
                }
            }
        }

        @Test(arguments: ClusterStateKind.allCases)
        func idsAreComparedByBytes(kind: ClusterStateKind) async throws {
            try await ClusterState.with(kind) { state in
                let directory = state.directory
                let composed = ClusterStateContract.session(user: "zo\u{EB}", device: "t\u{E9}l\u{E9}", connection: 1)
                let decomposed = ClusterStateContract.session(user: "zoe\u{308}", device: "t\u{E9}l\u{E9}", connection: 2)
                let nfdDevice = ClusterStateContract.session(user: "zo\u{EB}", device: "te\u{301}le\u{301}", connection: 3)
                let braces = ClusterStateContract.session(user: "}{a}.b{", device: "d: #", node: "node-a", connection: 4, app: "x{y}")
                for session in [composed, decomposed, nfdDevice, braces] {
                    #expect(try await directory.register(session).displaced == nil)
                }
                let answer = try await directory.sessions(
                    app: ClusterStateContract.app, users: ["zo\u{EB}", "zoe\u{308}"], liveNodes: Self.live)
                #expect(answer.count == 2)
                #expect(answer.first?.map(\.id) == [composed.id, nfdDevice.id])
                #expect(answer.last?.map(\.id) == [decomposed.id])
                #expect(answer.last?.first.map { ByteString($0.user) } == ByteString("zoe\u{308}"))
                #expect(answer.first?.last.map { ByteString($0.device) } == ByteString("te\u{301}le\u{301}"))
                #expect(try await directory.sessions(app: "x{y}", users: ["}{a}.b{"], liveNodes: Self.live) == [[braces]])
                #expect(try await directory.sessions(app: "x{y", users: ["}{a}.b{"], liveNodes: Self.live) == [[]])
            }
        }

        @Test(arguments: ClusterStateKind.allCases)
        func answersLeaveOutNodesThatAreNotLive(kind: ClusterStateKind) async throws {
            try await ClusterState.with(kind) { state in
                let directory = state.directory
                let onA = ClusterStateContract.session(device: "phone", node: "node-a", connection: 1)
                let onB = ClusterStateContract.session(device: "laptop", node: "node-b", connection: 2)
                let bob = ClusterStateContract.session(user: "bob", node: "node-b", connection: 3)
                for session in [onA, onB, bob] { _ = try await directory.register(session) }

                let users = ["alice", "nobody", "bob"]
                #expect(try await directory.sessions(app: ClusterStateContract.app, users: users, liveNodes: Self.live) == [[onA, onB], [], [bob]])
                #expect(try await directory.sessions(app: ClusterStateContract.app, users: users, liveNodes: ["node-a"]) == [[onA], [], []])
                #expect(try await directory.sessions(app: ClusterStateContract.app, users: users, liveNodes: []) == [[], [], []])
                #expect(try await directory.sessions(app: ClusterStateContract.app, users: [], liveNodes: Self.live).isEmpty)
            }
        }

        @Test(arguments: ClusterStateKind.allCases)
        func removeSessionsForgetsOnlyWhatTheNodeStillHolds(kind: ClusterStateKind) async throws {
            try await ClusterState.with(kind) { state in
                let directory = state.directory
                let phone = ClusterStateContract.session(device: "phone", node: "node-a", connection: 1)
                let laptop = ClusterStateContract.session(device: "laptop", node: "node-a", connection: 2)
                let bob = ClusterStateContract.session(user: "bob", node: "node-a", connection: 3)
                let tablet = ClusterStateContract.session(device: "tablet", node: "node-a", connection: 4)
                let tabletOnB = ClusterStateContract.session(device: "tablet", node: "node-b", connection: 5)
                for session in [phone, laptop, bob, tablet, tabletOnB] { _ = try await directory.register(session) }

                // Two nodes clean up at once: the sessions are removed once between them.
                async let first = directory.removeSessions(ofNode: "node-a")
                async let second = directory.removeSessions(ofNode: "node-a")
                #expect(try await first + second == 3)
                #expect(try await directory.removeSessions(ofNode: "node-a") == 0)
                let users = ["alice", "bob"]
                #expect(try await directory.sessions(app: ClusterStateContract.app, users: users, liveNodes: Self.live) == [[tabletOnB], []])
            }
        }

        @Test(arguments: ClusterStateKind.allCases)
        func restoreRegistersAgainAndDropsTheRest(kind: ClusterStateKind) async throws {
            try await ClusterState.with(kind) { state in
                let directory = state.directory
                let phone = ClusterStateContract.session(device: "phone", node: "node-a", connection: 1)
                let laptop = ClusterStateContract.session(device: "laptop", node: "node-a", connection: 2)
                let tablet = ClusterStateContract.session(device: "tablet", node: "node-a", connection: 3)
                let watch = ClusterStateContract.session(device: "watch", node: "node-a", connection: 4)
                let watchOnB = ClusterStateContract.session(device: "watch", node: "node-b", connection: 5)
                let laptopOrder = try await directory.register(laptop).order
                _ = try await directory.register(phone)
                _ = try await directory.register(watch)
                _ = try await directory.register(watchOnB)

                // The node lost the phone meanwhile and gained the tablet; the watch moved to
                // node-b while node-a was away.
                try await directory.restore(node: "node-a", sessions: [laptop, tablet, watch])
                let answer = try await directory.sessions(app: ClusterStateContract.app, users: ["alice"], liveNodes: Self.live)
                #expect(Set(answer.first ?? []) == [laptop, tablet, watchOnB])
                #expect(answer.first?.first { $0 == laptop }?.order == laptopOrder)

                // Restoring is what removeSessions undoes: node-a's record holds exactly what it restored.
                #expect(try await directory.removeSessions(ofNode: "node-a") == 2)
                #expect(try await directory.sessions(app: ClusterStateContract.app, users: ["alice"], liveNodes: Self.live) == [[watchOnB]])

                // After the directory lost everything (a Redis restart: here, removed), restore
                // brings the sessions back.
                try await directory.restore(node: "node-a", sessions: [laptop, tablet])
                let restored = try await directory.sessions(app: ClusterStateContract.app, users: ["alice"], liveNodes: Self.live)
                #expect(Set(restored.first ?? []) == [laptop, tablet, watchOnB])
            }
        }
    
        /// A server that forgot the scripts (a restart, `SCRIPT FLUSH`) is sent them again.
        @Test(arguments: [ClusterStateKind.redis])
        func scriptsAreSentAgainToAServerThatForgotThem(kind: ClusterStateKind) async throws {
            try await ClusterState.with(kind) { state in
                let serverCommand = try #require(state.serverCommand)
                let first = ClusterStateContract.session(connection: 1)
                let second = ClusterStateContract.session(connection: 2)
                _ = try await state.directory.register(first)
                _ = try await serverCommand(RESPCommand("SCRIPT", "FLUSH"))
                #expect(try await state.directory.register(second).displaced == first)
                _ = try await serverCommand(RESPCommand("SCRIPT", "FLUSH"))
                try await state.directory.unregister(second)
                #expect(try await state.directory.sessions(app: ClusterStateContract.app, users: ["alice"], liveNodes: Self.live) == [[]])
            }
        }
    }
}
