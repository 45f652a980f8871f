import HeraldCore
import NIOCore
import Testing

extension MessageStoreContract {
    /// Sequences: per (app, user), from 1, only growing, never shared by concurrent writers.
    @Suite("Inbox sequences")
    struct InboxSequenceContractTests {
        @Test(arguments: StoreKind.allCases)
        func sequencesStartAtOneAndArePerAppAndUser(kind: StoreKind) async throws {
            try await StoreFactory.withStore(kind) { store in
                let app = Fixture.uniqueApp()
                let other = Fixture.uniqueApp()
                #expect(try await store.lastInboxSequence(app: app, user: "alice") == 0)
                #expect(try await store.push(app: app, users: ["alice", "bob"], "one") == [1, 1])
                #expect(try await store.push(app: app, users: ["bob", "alice"], "two") == [2, 2])
                #expect(try await store.push(app: app, users: ["alice"], "three") == [3])
                #expect(try await store.push(app: other, users: ["alice"], "elsewhere") == [1])
                #expect(try await store.lastInboxSequence(app: app, user: "alice") == 3)
                #expect(try await store.lastInboxSequence(app: app, user: "bob") == 2)
                #expect(try await store.lastInboxSequence(app: app, user: "carol") == 0)

                let alice = try await store.replay(app: app, user: "alice")
                #expect(alice.sequences == [1, 2, 3])
                #expect(alice.texts == ["one", "two", "three"])
                #expect(alice.lastSequence == 3)
                #expect(alice.cursor == 0)
                #expect(alice.lostThrough == 0)
                #expect(try await store.replay(app: other, user: "alice").texts == ["elsewhere"])
            }
        }

        @Test(arguments: StoreKind.allCases)
        func unknownUserHasAnEmptyInbox(kind: StoreKind) async throws {
            try await StoreFactory.withStore(kind) { store in
                let replay = try await store.replay(app: Fixture.uniqueApp(), user: "nobody", after: 7)
                #expect(replay == InboxReplay(messages: [], cursor: 0, lastSequence: 0, lostThrough: 0))
            }
        }

        @Test(arguments: StoreKind.allCases)
        func oneCallWithManyMessagesAnswersPerMessageAndUser(kind: StoreKind) async throws {
            try await StoreFactory.withStore(kind) { store in
                let app = Fixture.uniqueApp()
                try await store.push(app: app, users: ["bob"], "before")
                let result = try await store.appendInbox(
                    InboxAppend(
                        app: app,
                        messages: [
                            InboxMessage(users: ["alice", "bob"], payload: Fixture.payload("a"), ttl: .seconds(60)),
                            InboxMessage(users: ["bob"], payload: Fixture.payload("b"), ttl: .seconds(60)),
                            InboxMessage(users: ["carol", "alice"], payload: Fixture.payload("c"), ttl: .seconds(60)),
                        ],
                        inboxLimit: 100,
                        now: Fixture.t0
                    )
                )
                #expect(!result.replayed)
                #expect(
                    result.messages == [
                        [UserSequence(user: "alice", seq: 1), UserSequence(user: "bob", seq: 2)],
                        [UserSequence(user: "bob", seq: 3)],
                        [UserSequence(user: "carol", seq: 1), UserSequence(user: "alice", seq: 2)],
                    ]
                )
                #expect(try await store.replay(app: app, user: "bob").texts == ["before", "a", "b"])
                #expect(try await store.replay(app: app, user: "alice").texts == ["a", "c"])
            }
        }

        @Test(arguments: StoreKind.allCases)
        func payloadsRoundTripByteForByte(kind: StoreKind) async throws {
            try await StoreFactory.withStore(kind) { store in
                let app = Fixture.uniqueApp()
                let binary = ByteBuffer(bytes: Array(0...255) + Array(0...255).reversed())
                let payloads = [ByteBuffer(), binary, ByteBuffer(string: "{\"text\":\"héllo ✓\"}")]
                let result = try await store.appendInbox(
                    InboxAppend(
                        app: app,
                        messages: payloads.map { InboxMessage(users: ["u"], payload: $0, ttl: .seconds(60)) },
                        inboxLimit: 10,
                        now: Fixture.t0
                    )
                )
                #expect(result.messages.map { $0.map(\.seq) } == [[1], [2], [3]])
                let replay = try await store.replay(app: app, user: "u")
                #expect(replay.messages.map(\.payload) == payloads)
            }
        }

        /// 16 writers at once, each call for a shared user and the writer's own: every
        /// sequence is given once, the shared inbox has no gap and no duplicate, and each
        /// writer sees its own user's sequences in its call order.
        @Test(arguments: StoreKind.allCases)
        func concurrentWritersNeverShareASequence(kind: StoreKind) async throws {
            try await StoreFactory.withStore(kind) { store in
                let app = Fixture.uniqueApp()
                let writers = 16
                let callsPerWriter = 20
                let answers = try await withThrowingTaskGroup(of: [(text: String, shared: UInt32, own: UInt32)].self) {
                    group in
                    for writer in 0..<writers {
                        group.addTask {
                            var mine: [(text: String, shared: UInt32, own: UInt32)] = []
                            for call in 0..<callsPerWriter {
                                let text = "w\(writer)-\(call)"
                                let seqs = try await store.push(app: app, users: ["shared", "own-\(writer)"], text)
                                mine.append((text, seqs[0], seqs[1]))
                            }
                            return mine
                        }
                    }
                    var all: [[(text: String, shared: UInt32, own: UInt32)]] = []
                    for try await answer in group { all.append(answer) }
                    return all
                }
                let total = writers * callsPerWriter
                let shared = answers.flatMap { $0.map(\.shared) }
                #expect(shared.sorted() == Array(1...UInt32(total)))
                for answer in answers {
                    #expect(answer.map(\.own) == Array(1...UInt32(callsPerWriter)))
                    // A writer's later call never gets a smaller shared sequence.
                    #expect(answer.map(\.shared) == answer.map(\.shared).sorted())
                }
                #expect(try await store.lastInboxSequence(app: app, user: "shared") == UInt32(total))

                let replay = try await store.replay(app: app, user: "shared")
                #expect(replay.sequences == Array(1...UInt32(total)))
                let textBySeq = Dictionary(uniqueKeysWithValues: answers.flatMap { $0.map { ($0.shared, $0.text) } })
                #expect(replay.messages.allSatisfy { textBySeq[$0.seq] == String(buffer: $0.payload) })
            }
        }

        /// A call's messages for one user get consecutive sequences even with other
        /// writers at work: the whole call lands at once.
        @Test(arguments: StoreKind.allCases)
        func concurrentMultiMessageCallsLandWhole(kind: StoreKind) async throws {
            try await StoreFactory.withStore(kind) { store in
                let app = Fixture.uniqueApp()
                let calls = 12
                let perCall = 3
                let results = try await withThrowingTaskGroup(of: [UInt32].self) { group in
                    for call in 0..<calls {
                        group.addTask {
                            let result = try await store.appendInbox(
                                InboxAppend(
                                    app: app,
                                    messages: (0..<perCall).map { index in
                                        InboxMessage(
                                            users: ["u"], payload: Fixture.payload("c\(call)-\(index)"),
                                            ttl: .seconds(60))
                                    },
                                    inboxLimit: 1000,
                                    now: Fixture.t0
                                )
                            )
                            return result.messages.map { $0[0].seq }
                        }
                    }
                    var all: [[UInt32]] = []
                    for try await result in group { all.append(result) }
                    return all
                }
                for seqs in results {
                    #expect(seqs.count == perCall)
                    #expect(seqs == Array(seqs[0]..<(seqs[0] + UInt32(perCall))))
                }
                #expect(results.flatMap { $0 }.sorted() == Array(1...UInt32(calls * perCall)))
            }
        }

        @Test(arguments: StoreKind.allCases)
        func sequencesSurvivePurgeAndCollapse(kind: StoreKind) async throws {
            try await StoreFactory.withStore(kind) { store in
                let app = Fixture.uniqueApp()
                try await store.push(app: app, users: ["u"], "a", ttl: .seconds(10), collapseKey: "k")
                try await store.push(app: app, users: ["u"], "b", ttl: .seconds(10), collapseKey: "k")
                _ = try await store.purge(now: Fixture.at(10), deadLetterLimit: 100)
                #expect(try await store.replay(app: app, user: "u", now: Fixture.at(10)).messages.isEmpty)
                #expect(try await store.push(app: app, users: ["u"], "c", now: Fixture.at(10)) == [3])
                #expect(try await store.lastInboxSequence(app: app, user: "u") == 3)
            }
        }
    }
}
