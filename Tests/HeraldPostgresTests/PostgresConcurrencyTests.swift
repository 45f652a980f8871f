import HeraldCore
import HeraldPostgres
import NIOCore
import PostgresNIO
import Testing

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Several Herald processes writing one database: here two stores, each with its own pool.
@Suite("PostgreSQL with several writers")
struct PostgresConcurrencyTests {
    static func append(_ store: PostgresStore, app: String, users: [String], body: String, key: IdempotencyKey? = nil)
        async throws -> InboxAppendResult
    {
        try await store.messages.appendInbox(
            InboxAppend(
                app: app,
                messages: [InboxMessage(users: users, payload: ByteBuffer(string: body), ttl: .seconds(3600))],
                idempotency: key,
                inboxLimit: 10_000,
                now: .now
            )
        )
    }

    /// A scratch schema whose stores wait up to 20 s for a pooled connection: many calls wait
    /// for small pools at once, on a machine busy with the other tests, and a lease may take
    /// longer than the default 3 s without anything being wrong.
    static func withScratchSchema<T>(_ body: (PostgresStore.Configuration) async throws -> T) async throws -> T {
        try await PostgresTestEnvironment.withScratchSchema { configuration in
            var configuration = configuration
            configuration.leaseTimeout = .seconds(20)
            return try await body(configuration)
        }
    }

    @Test("two stores appending to one user at once get distinct, gap-free sequences")
    func concurrentAppendsAcrossStores() async throws {
        let app = PostgresTestEnvironment.appID("concurrent")
        let perStore = 60
        try await Self.withScratchSchema { configuration in
            try await PostgresTestEnvironment.withStore(configuration) { first in
                try await PostgresTestEnvironment.withStore(configuration) { second in
                    let sequences = try await withThrowingTaskGroup(of: [UInt32].self) { group in
                        for (index, store) in [first, second].enumerated() {
                            for n in 0..<perStore {
                                group.addTask {
                                    // Every third call also writes another user, in the other order
                                    // on the other store: locks are taken in one order regardless.
                                    let users = n % 3 == 0 ? (index == 0 ? ["u", "w"] : ["w", "u"]) : ["u"]
                                    let result = try await Self.append(
                                        store, app: app, users: users, body: "\(index)-\(n)")
                                    return result.messages[0].filter { $0.user == "u" }.map(\.seq)
                                }
                            }
                        }
                        var all: [UInt32] = []
                        for try await seqs in group { all += seqs }
                        return all
                    }
                    let total = 2 * perStore
                    #expect(sequences.sorted() == Array(1...UInt32(total)))
                    #expect(try await first.messages.lastInboxSequence(app: app, user: "u") == UInt32(total))
                    let replay = try await second.messages.inbox(app: app, user: "u", device: "d", after: 0, now: .now)
                    #expect(replay.messages.map(\.seq) == Array(1...UInt32(total)))
                    #expect(replay.lostThrough == 0)
                }
            }
        }
    }

    @Test("two stores broadcasting to one app at once get distinct, gap-free sequences")
    func concurrentBroadcastsAcrossStores() async throws {
        let app = PostgresTestEnvironment.appID("broadcast")
        try await Self.withScratchSchema { configuration in
            try await PostgresTestEnvironment.withStore(configuration) { first in
                try await PostgresTestEnvironment.withStore(configuration) { second in
                    let sequences = try await withThrowingTaskGroup(of: UInt32.self) { group in
                        for store in [first, second] {
                            for n in 0..<40 {
                                group.addTask {
                                    try await store.messages.appendBroadcast(
                                        app: app, payload: ByteBuffer(string: "b\(n)"), ttl: .seconds(60), keep: 10,
                                        now: .now
                                    )
                                }
                            }
                        }
                        var all: [UInt32] = []
                        for try await seq in group { all.append(seq) }
                        return all
                    }
                    #expect(sequences.sorted() == Array(1...80))
                    let replay = try await first.messages.broadcasts(app: app, after: 0, now: .now)
                    #expect(replay.messages.map(\.seq) == Array(71...80))
                    #expect(replay.trimmedThrough == 70)
                    #expect(replay.lastSequence == 80)
                }
            }
        }
    }

    @Test("one idempotency key used by two stores at once stores the messages once")
    func idempotencyAcrossStores() async throws {
        let app = PostgresTestEnvironment.appID("idem")
        try await Self.withScratchSchema { configuration in
            try await PostgresTestEnvironment.withStore(configuration) { first in
                try await PostgresTestEnvironment.withStore(configuration) { second in
                    let key = IdempotencyKey(key: "k-1", fingerprint: "f-1")
                    async let a = Self.append(first, app: app, users: ["u", "v"], body: "x", key: key)
                    async let b = Self.append(second, app: app, users: ["u", "v"], body: "x", key: key)
                    let (ra, rb) = try await (a, b)
                    #expect(ra.messages == rb.messages)
                    #expect(ra.replayed != rb.replayed)
                    #expect(try await first.messages.lastInboxSequence(app: app, user: "u") == 1)
                    #expect(try await first.messages.lastInboxSequence(app: app, user: "v") == 1)
                }
            }
        }
    }

    @Test("an exhausted sequence fails only its own request; concurrent appends still commit")
    func exhaustedSequenceFailsAlone() async throws {
        let app = PostgresTestEnvironment.appID("exhaust")
        try await Self.withScratchSchema { configuration in
            try await PostgresTestEnvironment.withStore(configuration) { store in
                _ = try await Self.append(store, app: app, users: ["full"], body: "first")
                try await PostgresTestEnvironment.withClient(configuration) { client in
                    try await client.query(
                        "UPDATE inbox_state SET last_seq = \(Int64(UInt32.max) - 1) WHERE app = \(app) AND user_id = 'full'"
                    )
                }
                #expect(
                    try await Self.append(store, app: app, users: ["full"], body: "last").messages[0][0].seq
                        == UInt32.max)
                let outcomes = await withTaskGroup(of: (String, Result<InboxAppendResult, any Error>).self) { group in
                    for user in ["full", "a", "b", "c"] {
                        group.addTask {
                            do {
                                return (
                                    user,
                                    .success(
                                        try await Self.append(
                                            store, app: app, users: [user, "shared-\(user)"], body: user))
                                )
                            } catch {
                                return (user, .failure(error))
                            }
                        }
                    }
                    var outcomes: [String: Result<InboxAppendResult, any Error>] = [:]
                    for await (user, outcome) in group { outcomes[user] = outcome }
                    return outcomes
                }
                for user in ["a", "b", "c"] {
                    #expect(try outcomes[user]?.get().messages[0].map(\.seq) == [1, 1])
                }
                #expect(throws: MessageStoreError.sequenceExhausted(app: app)) { try outcomes["full"]?.get() }
                // Rolled back whole: the other user of that call got nothing either.
                #expect(try await store.messages.lastInboxSequence(app: app, user: "shared-full") == 0)
                #expect(try await store.messages.lastInboxSequence(app: app, user: "full") == UInt32.max)
            }
        }
    }

    @Test("a broadcast past the end of the sequence space is refused and leaves the log as it was")
    func exhaustedBroadcastSequenceIsRefused() async throws {
        let app = PostgresTestEnvironment.appID("bexhaust")
        try await Self.withScratchSchema { configuration in
            try await PostgresTestEnvironment.withStore(configuration) { store in
                let now = Date(timeIntervalSince1970: 1_700_000_000)
                _ = try await store.messages.appendBroadcast(
                    app: app, payload: ByteBuffer(string: "first"), ttl: .seconds(60), keep: 10, now: now)
                try await PostgresTestEnvironment.withClient(configuration) { client in
                    try await client.query(
                        "UPDATE broadcast_state SET last_seq = \(Int64(UInt32.max) - 1) WHERE app = \(app)"
                    )
                }
                #expect(
                    try await store.messages.appendBroadcast(
                        app: app, payload: ByteBuffer(string: "last"), ttl: .seconds(60), keep: 10, now: now)
                        == UInt32.max)
                await #expect(throws: MessageStoreError.sequenceExhausted(app: app)) {
                    try await store.messages.appendBroadcast(
                        app: app, payload: ByteBuffer(string: "over"), ttl: .seconds(60), keep: 10, now: now)
                }
                let log = try await store.messages.broadcasts(app: app, after: UInt32.max - 1, now: now)
                #expect(log.messages == [StoredMessage(seq: UInt32.max, payload: ByteBuffer(string: "last"))])
                #expect(log.lastSequence == UInt32.max)
            }
        }
    }
}

