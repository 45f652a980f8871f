import HeraldCore
import NIOCore
import Testing

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

extension MessageStoreContract {
    /// The per-user inbox bound and collapse keys.
    @Suite("Inbox bound and collapse keys")
    struct InboxBoundContractTests {
        @Test(arguments: StoreKind.allCases)
        func pastTheBoundTheOldestLeaveAsInboxFullDeadLetters(kind: StoreKind) async throws {
            try await StoreFactory.withStore(kind) { store in
                let app = Fixture.uniqueApp()
                for index in 1...5 {
                    try await store.push(app: app, users: ["u"], "m\(index)", inboxLimit: 3, now: Fixture.at(index))
                }
                let replay = try await store.replay(app: app, user: "u", now: Fixture.at(10))
                #expect(replay.texts == ["m3", "m4", "m5"])
                #expect(replay.lostThrough == 2)
                #expect(replay.lastSequence == 5)

                let letters = try await store.deadLetters(app: app, before: nil, limit: 10).deadLetters
                #expect(letters.map(\.seq) == [2, 1])
                #expect(letters.allSatisfy { $0.reason == .inboxFull && $0.user == "u" })
                #expect(letters.map { String(buffer: $0.payload) } == ["m2", "m1"])
                // Stored when pushed, died when the newer message pushed it out.
                #expect(letters.map(\.createdAt) == [Fixture.at(2), Fixture.at(1)])
                #expect(letters.map(\.diedAt) == [Fixture.at(5), Fixture.at(4)])
                #expect(letters[0].id > letters[1].id)
            }
        }

        @Test(arguments: StoreKind.allCases)
        func oneCallPastTheBoundKeepsTheNewest(kind: StoreKind) async throws {
            try await StoreFactory.withStore(kind) { store in
                let app = Fixture.uniqueApp()
                let result = try await store.appendInbox(
                    InboxAppend(
                        app: app,
                        messages: (1...5).map {
                            InboxMessage(users: ["u"], payload: Fixture.payload("m\($0)"), ttl: .seconds(60))
                        },
                        inboxLimit: 2,
                        now: Fixture.t0
                    )
                )
                #expect(result.messages.map { $0[0].seq } == [1, 2, 3, 4, 5])
                let replay = try await store.replay(app: app, user: "u")
                #expect(replay.texts == ["m4", "m5"])
                #expect(replay.lostThrough == 3)
                #expect(
                    try await store.deadLetters(app: app, before: nil, limit: 10).deadLetters.map(\.seq) == [3, 2, 1])
            }
        }

        @Test(arguments: StoreKind.allCases)
        func acknowledgedOrDroppingMessagesLeaveTheBoundSilently(kind: StoreKind) async throws {
            try await StoreFactory.withStore(kind) { store in
                let app = Fixture.uniqueApp()
                try await store.push(app: app, users: ["u"], "m1", inboxLimit: 2)
                try await store.push(app: app, users: ["u"], "m2", keepsDeadLetter: false, inboxLimit: 2)
                try await store.acknowledge([InboxAcknowledgement(app: app, user: "u", device: "tablet", seq: 1)])
                // m3 pushes out m1 (acknowledged by a device), m4 pushes out m2 (its app drops
                // dead letters), m5 pushes out m3 (unacknowledged: a dead letter).
                try await store.push(app: app, users: ["u"], "m3", inboxLimit: 2)
                try await store.push(app: app, users: ["u"], "m4", inboxLimit: 2)
                try await store.push(app: app, users: ["u"], "m5", inboxLimit: 2)

                let replay = try await store.replay(app: app, user: "u")
                #expect(replay.texts == ["m4", "m5"])
                #expect(replay.lostThrough == 3)
                // Only m3 was unacknowledged and kept dead letters.
                #expect(try await store.deadLetters(app: app, before: nil, limit: 10).deadLetters.map(\.seq) == [3])
            }
        }

        /// One call of `texts` (one message each) for `users`, answered with its result.
        private static func append(
            _ store: any MessageStore,
            app: String,
            users: [String] = ["u"],
            _ texts: [String],
            keepsDeadLetter: Bool = true,
            idempotency: IdempotencyKey? = nil,
            inboxLimit: Int,
            now: Date = Fixture.t0
        ) async throws -> InboxAppendResult {
            try await store.appendInbox(
                InboxAppend(
                    app: app,
                    messages: texts.map {
                        InboxMessage(
                            users: users,
                            payload: Fixture.payload($0),
                            ttl: .seconds(3600),
                            keepsDeadLetter: keepsDeadLetter
                        )
                    },
                    idempotency: idempotency,
                    inboxLimit: inboxLimit,
                    now: now
                )
            )
        }

        @Test(arguments: StoreKind.allCases)
        func deadLetteredCountsWhatTheCallPushedPastTheBound(kind: StoreKind) async throws {
            try await StoreFactory.withStore(kind) { store in
                let app = Fixture.uniqueApp()
                for text in ["m1", "m2", "m3"] {
                    #expect(try await Self.append(store, app: app, [text], inboxLimit: 3).deadLettered == 0)
                }
                #expect(try await Self.append(store, app: app, ["m4"], inboxLimit: 3).deadLettered == 1)
                // One call, two users, four messages under a bound of 2: u loses m2, m3, m4 and
                // the call's first two; v (empty before) loses the call's first two.
                let result = try await Self.append(
                    store, app: app, users: ["u", "v"], ["n1", "n2", "n3", "n4"], inboxLimit: 2)
                #expect(result.deadLettered == 7)
                #expect(!result.replayed)
                #expect(try await store.deadLetters(app: app, before: nil, limit: 100).deadLetters.count == 8)
            }
        }

        @Test(arguments: StoreKind.allCases)
        func deadLetteredLeavesOutAcknowledgedAndDroppingMessages(kind: StoreKind) async throws {
            try await StoreFactory.withStore(kind) { store in
                let app = Fixture.uniqueApp()
                #expect(try await Self.append(store, app: app, ["m1"], inboxLimit: 2).deadLettered == 0)
                #expect(
                    try await Self.append(store, app: app, ["m2"], keepsDeadLetter: false, inboxLimit: 2).deadLettered
                        == 0)
                try await store.acknowledge([InboxAcknowledgement(app: app, user: "u", device: "tablet", seq: 1)])
                // Pushes out m1: acknowledged, so no dead letter.
                #expect(try await Self.append(store, app: app, ["m3"], inboxLimit: 2).deadLettered == 0)
                // Pushes out m2: its app drops dead letters.
                #expect(try await Self.append(store, app: app, ["m4"], inboxLimit: 2).deadLettered == 0)
                // Pushes out m3: unacknowledged and kept.
                #expect(try await Self.append(store, app: app, ["m5"], inboxLimit: 2).deadLettered == 1)
                // Dropping messages pushed out by a dropping message are not counted either.
                let dropping = Fixture.uniqueApp()
                #expect(
                    try await Self.append(
                        store, app: dropping, ["d1", "d2", "d3"], keepsDeadLetter: false, inboxLimit: 1
                    ).deadLettered == 0)
                #expect(try await store.deadLetters(app: dropping, before: nil, limit: 10).deadLetters.isEmpty)
            }
        }

        @Test(arguments: StoreKind.allCases)
        func aReplayedCallReportsNoDeadLetters(kind: StoreKind) async throws {
            try await StoreFactory.withStore(kind) { store in
                let app = Fixture.uniqueApp()
                let key = IdempotencyKey(key: "k", fingerprint: "f")
                let first = try await Self.append(
                    store, app: app, ["m1", "m2", "m3"], idempotency: key, inboxLimit: 1)
                #expect(!first.replayed)
                #expect(first.deadLettered == 2)

                let retry = try await Self.append(
                    store, app: app, ["m1", "m2", "m3"], idempotency: key, inboxLimit: 1, now: Fixture.at(5))
                #expect(retry.replayed)
                #expect(retry.deadLettered == 0)
                #expect(retry.messages == first.messages)
                #expect(try await store.deadLetters(app: app, before: nil, limit: 10).deadLetters.count == 2)
            }
        }

        @Test func resultsRecordedWithoutDeadLetteredDecodeAsZero() throws {
            let json = #"{"messages":[[{"user":"u","seq":7}]],"replayed":false}"#
            let result = try JSONDecoder().decode(InboxAppendResult.self, from: Data(json.utf8))
            #expect(result == InboxAppendResult(messages: [[UserSequence(user: "u", seq: 7)]]))
            #expect(result.deadLettered == 0)

            let recorded = InboxAppendResult(messages: [[UserSequence(user: "u", seq: 7)]], deadLettered: 3)
            let roundTrip = try JSONDecoder().decode(InboxAppendResult.self, from: JSONEncoder().encode(recorded))
            #expect(roundTrip == recorded)
            #expect(recorded.asReplayed.deadLettered == 0)
            #expect(recorded.asReplayed.replayed)
        }

        @Test(arguments: StoreKind.allCases)
        func collapseKeyReplacesTheUsersEarlierMessage(kind: StoreKind) async throws {
            try await StoreFactory.withStore(kind) { store in
                let app = Fixture.uniqueApp()
                #expect(
                    try await store.push(app: app, users: ["alice", "bob"], "score 1-0", collapseKey: "score") == [
                        1, 1,
                    ])
                #expect(try await store.push(app: app, users: ["alice"], "chat", collapseKey: nil) == [2])
                #expect(try await store.push(app: app, users: ["alice"], "news", collapseKey: "news") == [3])
                #expect(try await store.push(app: app, users: ["alice"], "score 2-0", collapseKey: "score") == [4])

                let alice = try await store.replay(app: app, user: "alice")
                #expect(alice.texts == ["chat", "news", "score 2-0"])
                #expect(alice.sequences == [2, 3, 4])
                // Replaced, not lost.
                #expect(alice.lostThrough == 0)
                // Another user's message with the same key stays.
                #expect(try await store.replay(app: app, user: "bob").texts == ["score 1-0"])
                #expect(try await store.deadLetters(app: app, before: nil, limit: 10).deadLetters.isEmpty)
            }
        }

        @Test(arguments: StoreKind.allCases)
        func collapsedMessagesDoNotCountAgainstTheBound(kind: StoreKind) async throws {
            try await StoreFactory.withStore(kind) { store in
                let app = Fixture.uniqueApp()
                try await store.push(app: app, users: ["u"], "first", inboxLimit: 2)
                for index in 1...5 {
                    let result = try await store.appendInbox(
                        InboxAppend(
                            app: app,
                            messages: [
                                InboxMessage(
                                    users: ["u"], payload: Fixture.payload("score \(index)"), ttl: .seconds(3600),
                                    collapseKey: "score")
                            ],
                            inboxLimit: 2,
                            now: Fixture.t0
                        )
                    )
                    // Replaced, not pushed past the bound.
                    #expect(result.deadLettered == 0)
                }
                let replay = try await store.replay(app: app, user: "u")
                #expect(replay.texts == ["first", "score 5"])
                #expect(replay.lostThrough == 0)
                #expect(replay.lastSequence == 6)
            }
        }
    }
}
