import HeraldCore
import NIOCore
import Testing

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
                    try await store.push(app: app, users: ["u"], "score \(index)", collapseKey: "score", inboxLimit: 2)
                }
                let replay = try await store.replay(app: app, user: "u")
                #expect(replay.texts == ["first", "score 5"])
                #expect(replay.lostThrough == 0)
                #expect(replay.lastSequence == 6)
            }
        }
    }
}
