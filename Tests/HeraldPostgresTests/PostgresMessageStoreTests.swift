import HeraldCore
import HeraldPostgres
import NIOCore
import Testing

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The MessageStore rules on PostgreSQL, briefly (the contract suite covers them for every
/// store); each test has a schema of its own.
@Suite("PostgreSQL message store")
struct PostgresMessageStoreTests {
    let t0 = Date(timeIntervalSince1970: 1_800_000_000)

    func message(
        _ body: String, users: [String] = ["u"], ttl: Duration = .seconds(100), collapseKey: String? = nil,
        keeps: Bool = true
    )
        -> InboxMessage
    {
        InboxMessage(
            users: users, payload: ByteBuffer(string: body), ttl: ttl, collapseKey: collapseKey, keepsDeadLetter: keeps)
    }

    func withStore(_ body: (PostgresMessageStore, String) async throws -> Void) async throws {
        try await PostgresTestEnvironment.withScratchSchema { configuration in
            try await PostgresTestEnvironment.withStore(configuration) { store in
                try await body(store.messages, PostgresTestEnvironment.appID("ms"))
            }
        }
    }

    @Test("sequences, replay above the cursor, and cumulative acknowledgements")
    func replayAndCursors() async throws {
        try await self.withStore { store, app in
            let result = try await store.appendInbox(
                InboxAppend(
                    app: app, messages: [message("a", users: ["u", "v"]), message("b"), message("c")], inboxLimit: 10,
                    now: t0)
            )
            #expect(
                result.messages == [
                    [.init(user: "u", seq: 1), .init(user: "v", seq: 1)], [.init(user: "u", seq: 2)],
                    [.init(user: "u", seq: 3)],
                ])
            #expect(!result.replayed)

            try await store.acknowledge([
                .init(app: app, user: "u", device: "d1", seq: 2), .init(app: app, user: "u", device: "d1", seq: 1),
            ])
            let d1 = try await store.inbox(app: app, user: "u", device: "d1", after: 0, now: t0)
            #expect(d1.messages.map(\.seq) == [3])
            #expect(d1.messages.first?.payload == ByteBuffer(string: "c"))
            #expect(d1.cursor == 2)
            #expect(d1.lastSequence == 3)
            #expect(d1.lostThrough == 0)

            let d2 = try await store.inbox(app: app, user: "u", device: "d2", after: 1, now: t0)
            #expect(d2.messages.map(\.seq) == [2, 3])
            #expect(d2.cursor == 0)

            // Never past the last sequence, never back.
            try await store.acknowledge([.init(app: app, user: "u", device: "d1", seq: 99)])
            #expect(try await store.inbox(app: app, user: "u", device: "d1", after: 0, now: t0).cursor == 3)
            try await store.acknowledge([.init(app: app, user: "u", device: "d1", seq: 1)])
            #expect(try await store.inbox(app: app, user: "u", device: "d1", after: 0, now: t0).cursor == 3)

            // A user never sent to: nothing stored.
            try await store.acknowledge([.init(app: app, user: "nobody", device: "d", seq: 5)])
            let nobody = try await store.inbox(app: app, user: "nobody", device: "d", after: 0, now: t0)
            #expect(nobody == InboxReplay(messages: [], cursor: 0, lastSequence: 0, lostThrough: 0))
            #expect(try await store.lastInboxSequence(app: app, user: "nobody") == 0)
        }
    }

    @Test("collapse keys replace; the inbox bound drops the oldest, as dead letters unless acknowledged")
    func collapseAndBound() async throws {
        try await self.withStore { store, app in
            for n in 1...3 {
                _ = try await store.appendInbox(
                    InboxAppend(
                        app: app, messages: [message("score \(n)", collapseKey: "score")], inboxLimit: 3, now: t0)
                )
            }
            var replay = try await store.inbox(app: app, user: "u", device: "d", after: 0, now: t0)
            #expect(replay.messages.map(\.seq) == [3])
            #expect(replay.lostThrough == 0)

            try await store.acknowledge([.init(app: app, user: "u", device: "d", seq: 3)])
            for n in 4...7 {
                _ = try await store.appendInbox(
                    InboxAppend(app: app, messages: [message("m\(n)")], inboxLimit: 3, now: t0))
            }
            replay = try await store.inbox(app: app, user: "u", device: "other", after: 0, now: t0)
            #expect(replay.messages.map(\.seq) == [5, 6, 7])
            #expect(replay.lostThrough == 4)
            let page = try await store.deadLetters(app: app, before: nil, limit: 10)
            // 3 was acknowledged: it left silently; 4 became a dead letter.
            #expect(page.deadLetters.map(\.seq) == [4])
            #expect(page.deadLetters.first?.reason == .inboxFull)
            #expect(page.deadLetters.first?.payload == ByteBuffer(string: "m4"))
            #expect(page.next == nil)
        }
    }

    @Test("expiry: expired messages are lost at once and purged into dead letters")
    func expiryAndPurge() async throws {
        try await self.withStore { store, app in
            _ = try await store.appendInbox(
                InboxAppend(
                    app: app,
                    messages: [
                        message("short", ttl: .seconds(10)), message("dropped", ttl: .seconds(10), keeps: false),
                        message("long", ttl: .seconds(1000)),
                    ],
                    inboxLimit: 10,
                    now: t0
                )
            )
            let later = t0.addingTimeInterval(20)
            var replay = try await store.inbox(app: app, user: "u", device: "d", after: 0, now: later)
            #expect(replay.messages.map(\.seq) == [3])
            #expect(replay.lostThrough == 2)

            let report = try await store.purge(now: later, deadLetterLimit: 100)
            #expect(report.deadLettered >= 1)
            replay = try await store.inbox(app: app, user: "u", device: "d", after: 0, now: later)
            #expect(replay.messages.map(\.seq) == [3])
            #expect(replay.lostThrough == 2)
            let page = try await store.deadLetters(app: app, before: nil, limit: 10)
            #expect(page.deadLetters.map(\.seq) == [1])
            #expect(page.deadLetters.first?.reason == .expired)
            #expect(page.deadLetters.first?.createdAt == t0)
            #expect(page.deadLetters.first?.diedAt == later)
        }
    }

    @Test("idempotency keys: a retry replays, another body conflicts, an old record is replaced")
    func idempotency() async throws {
        try await self.withStore { store, app in
            let key = IdempotencyKey(key: "k", fingerprint: "f")
            let first = try await store.appendInbox(
                InboxAppend(app: app, messages: [message("x")], idempotency: key, inboxLimit: 10, now: t0))
            let retry = try await store.appendInbox(
                InboxAppend(
                    app: app, messages: [message("x")], idempotency: key, inboxLimit: 10, now: t0.addingTimeInterval(60)
                )
            )
            #expect(retry.replayed)
            #expect(retry.messages == first.messages)
            await #expect(throws: MessageStoreError.idempotencyConflict) {
                _ = try await store.appendInbox(
                    InboxAppend(
                        app: app, messages: [message("y")], idempotency: .init(key: "k", fingerprint: "g"),
                        inboxLimit: 10, now: t0)
                )
            }
            let dayLater = t0.addingTimeInterval(24 * 3600)
            let fresh = try await store.appendInbox(
                InboxAppend(
                    app: app, messages: [message("y")], idempotency: .init(key: "k", fingerprint: "g"), inboxLimit: 10,
                    now: dayLater)
            )
            #expect(!fresh.replayed)
            #expect(fresh.messages == [[.init(user: "u", seq: 2)]])
        }
    }

    @Test("broadcast log: kept count, TTL, keep 0, replay above a sequence")
    func broadcasts() async throws {
        try await self.withStore { store, app in
            for n in 1...4 {
                let seq = try await store.appendBroadcast(
                    app: app, payload: ByteBuffer(string: "b\(n)"), ttl: .seconds(10 * n), keep: 3, now: t0)
                #expect(seq == UInt32(n))
            }
            var replay = try await store.broadcasts(app: app, after: 0, now: t0)
            #expect(replay.messages.map(\.seq) == [2, 3, 4])
            #expect(replay.trimmedThrough == 1)
            #expect(replay.lastSequence == 4)
            replay = try await store.broadcasts(app: app, after: 3, now: t0.addingTimeInterval(25))
            #expect(replay.messages.map(\.seq) == [4])
            #expect(replay.trimmedThrough == 2)

            #expect(
                try await store.appendBroadcast(app: app, payload: .init(), ttl: .seconds(10), keep: 0, now: t0) == 5)
            replay = try await store.broadcasts(app: app, after: 0, now: t0)
            #expect(replay.messages.isEmpty)
            #expect(replay.trimmedThrough == 5)
            #expect(try await store.lastBroadcastSequence(app: app) == 5)
            #expect(try await store.lastBroadcastSequence(app: app + "-none") == 0)
        }
    }

    @Test("dead letters page newest first and are trimmed to the per-app bound")
    func deadLetterPaging() async throws {
        try await self.withStore { store, app in
            for n in 1...5 {
                _ = try await store.appendInbox(
                    InboxAppend(app: app, messages: [message("m\(n)")], inboxLimit: 1, now: t0))
            }
            // 1...4 overflowed the bound of 1.
            let first = try await store.deadLetters(app: app, before: nil, limit: 3)
            #expect(first.deadLetters.map(\.seq) == [4, 3, 2])
            let next = try #require(first.next)
            let second = try await store.deadLetters(app: app, before: next, limit: 3)
            #expect(second.deadLetters.map(\.seq) == [1])
            #expect(second.next == nil)

            _ = try await store.purge(now: t0, deadLetterLimit: 2)
            #expect(try await store.deadLetters(app: app, before: nil, limit: 10).deadLetters.map(\.seq) == [4, 3])
        }
    }
}
