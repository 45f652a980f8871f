import Foundation
import HeraldCore
import NIOCore
import Testing

@testable import HeraldSQLite

/// What only the SQLite store has to show: data surviving a reopen of the file, and
/// migrating a database written by an older Herald.
@Suite("SQLite durability and migrations")
struct SQLiteDurabilityTests {
    private static let t0 = Date(timeIntervalSince1970: 1_700_000_000)

    private static func at(_ seconds: Int) -> Date {
        Self.t0.addingTimeInterval(TimeInterval(seconds))
    }

    private static func push(
        _ store: SQLiteStore,
        users: [String],
        _ text: String,
        key: IdempotencyKey? = nil,
        limit: Int = 100,
        now: Date = Self.t0
    ) async throws -> InboxAppendResult {
        try await store.messages.appendInbox(
            InboxAppend(
                app: "demo",
                messages: [InboxMessage(users: users, payload: ByteBuffer(string: text), ttl: .seconds(600))],
                idempotency: key,
                inboxLimit: limit,
                now: now
            )
        )
    }

    @Test func inboxesSequencesCursorsAndLogsSurviveReopen() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let key = IdempotencyKey(key: "retry-me", fingerprint: "f")

        let first = try await SQLiteStore.open(directory: directory.path)
        let stored = try await Self.push(first, users: ["alice", "bob"], "one", key: key)
        _ = try await Self.push(first, users: ["alice"], "two", limit: 1)
        _ = try await Self.push(first, users: ["alice"], "three", limit: 1)
        try await first.messages.acknowledge([InboxAcknowledgement(app: "demo", user: "bob", device: "phone", seq: 1)])
        for text in ["b1", "b2", "b3"] {
            _ = try await first.messages.appendBroadcast(
                app: "demo", payload: ByteBuffer(string: text), ttl: .seconds(600), keep: 2, now: Self.t0)
        }
        try await first.close()

        let second = try await SQLiteStore.open(directory: directory.path)
        #expect(try await second.messages.lastInboxSequence(app: "demo", user: "alice") == 3)
        let alice = try await second.messages.inbox(
            app: "demo", user: "alice", device: "phone", after: 0, now: Self.at(1))
        #expect(alice.messages.map { String(buffer: $0.payload) } == ["three"])
        #expect(alice.lostThrough == 2)
        let bob = try await second.messages.inbox(app: "demo", user: "bob", device: "phone", after: 0, now: Self.at(1))
        #expect(bob.cursor == 1)
        #expect(bob.messages.isEmpty)
        #expect(bob.lastSequence == 1)

        let retry = try await Self.push(second, users: ["alice", "bob"], "one", key: key, now: Self.at(2))
        #expect(retry.replayed)
        #expect(retry.messages == stored.messages)
        #expect(
            try await Self.push(second, users: ["alice"], "four", now: Self.at(2)).messages == [
                [UserSequence(user: "alice", seq: 4)]
            ])

        let letters = try await second.messages.deadLetters(app: "demo", before: nil, limit: 10)
        #expect(letters.deadLetters.map(\.seq) == [2, 1])
        let log = try await second.messages.broadcasts(app: "demo", after: 0, now: Self.at(1))
        #expect(log.messages.map { String(buffer: $0.payload) } == ["b2", "b3"])
        #expect(log.trimmedThrough == 1)
        #expect(log.lastSequence == 3)
        try await second.close()
    }

    @Test func migratesAVersion1DatabaseKeepingAppsAndBroadcastSequences() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }

        // A database as the previous release left it: schema version 1 with its data.
        let old = try await SQLiteStore.open(
            directory: directory.path, migrations: Array(SQLiteMigrations.all.prefix(1)))
        #expect(try await old.schemaVersion() == 1)
        _ = try await old.execute(
            """
            INSERT INTO apps (id, secret, webhook, epoch, created_at)
            VALUES ('legacy', 'legacy-secret', 'https://example.com/hook', 'epoch-1', 1700000000.5)
            """
        )
        _ = try await old.execute("INSERT INTO broadcast_sequences (app, seq) VALUES ('legacy', 7), ('quiet', 0)")
        try await old.close()

        let store = try await SQLiteStore.open(directory: directory.path)
        #expect(try await store.schemaVersion() == SQLiteStore.latestSchemaVersion)
        let legacy = App(
            id: "legacy",
            secret: "legacy-secret",
            webhook: "https://example.com/hook",
            epoch: "epoch-1",
            createdAt: Date(timeIntervalSince1970: 1_700_000_000.5),
            policy: AppPolicy()
        )
        #expect(try await store.catalog.list() == [legacy])

        #expect(try await store.messages.lastBroadcastSequence(app: "legacy") == 7)
        #expect(try await store.messages.lastBroadcastSequence(app: "quiet") == 0)
        // Broadcasts before the migration were never kept: the log says they left it.
        let log = try await store.messages.broadcasts(app: "legacy", after: 3, now: Self.t0)
        #expect(log == BroadcastReplay(messages: [], lastSequence: 7, trimmedThrough: 7))
        #expect(
            try await store.messages.appendBroadcast(
                app: "legacy", payload: ByteBuffer(string: "new"), ttl: .seconds(60), keep: 10, now: Self.t0) == 8)
        #expect(try await store.execute("SELECT name FROM sqlite_master WHERE name = 'broadcast_sequences'").isEmpty)

        // The new tables work on the migrated file.
        #expect(try await store.messages.lastInboxSequence(app: "legacy", user: "u") == 0)
        try await store.close()
    }

    @Test func migratesAVersion2DatabaseToThePostgreSQLTableNames() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }

        // A database at schema version 2, written through the store of that release.
        let old = try await SQLiteStore.open(
            directory: directory.path, migrations: Array(SQLiteMigrations.all.prefix(2)))
        #expect(try await old.schemaVersion() == 2)
        let key = IdempotencyKey(key: "retry-me", fingerprint: "f")
        _ = try await old.execute(
            """
            INSERT INTO broadcast_state (app, seq, trimmed_through) VALUES ('demo', 2, 0)
            """
        )
        _ = try await old.execute(
            """
            INSERT INTO broadcast_log (app, seq, payload, expires_at)
            VALUES ('demo', 1, X'6231', 1700000600), ('demo', 2, X'6232', 1700000600)
            """
        )
        let recorded = InboxAppendResult(messages: [[UserSequence(user: "u", seq: 1)]])
        let json = String(decoding: try JSONEncoder().encode(recorded), as: UTF8.self)
        _ = try await old.execute(
            """
            INSERT INTO idempotency_keys (app, key, fingerprint, result, created_at)
            VALUES ('demo', 'retry-me', 'f', '\(json)', 1700000000)
            """
        )
        _ = try await old.execute("INSERT INTO inbox_state (app, user_id, last_seq) VALUES ('demo', 'u', 1)")
        _ = try await old.execute(
            """
            INSERT INTO inbox_messages (app, user_id, seq, payload, expires_at, created_at, collapse_key, keeps_dead_letter)
            VALUES ('demo', 'u', 1, X'6D31', 1700000600, 1700000000, NULL, 1)
            """
        )
        try await old.close()

        let store = try await SQLiteStore.open(directory: directory.path)
        #expect(try await store.schemaVersion() == SQLiteStore.latestSchemaVersion)
        let tables = try await store.execute(
            "SELECT name FROM sqlite_master WHERE type IN ('table', 'index') AND name NOT LIKE 'sqlite_%' ORDER BY name")
        let names = Set(tables.compactMap { $0["name"] })
        #expect(names.isSuperset(of: ["broadcasts", "idempotency_records", "broadcasts_expires_at", "dead_letters_app_id"]))
        #expect(names.isDisjoint(with: ["broadcast_log", "idempotency_keys", "broadcast_log_expiry", "dead_letters_app"]))

        // The broadcasts, the idempotency record and the inbox are still there.
        let log = try await store.messages.broadcasts(app: "demo", after: 0, now: Self.t0)
        #expect(log.messages.map(\.seq) == [1, 2])
        #expect(log.messages.map { String(buffer: $0.payload) } == ["b1", "b2"])
        #expect(try await Self.push(store, users: ["u"], "m1", key: key, now: Self.at(1)) == recorded.asReplayed)
        let inbox = try await store.messages.inbox(app: "demo", user: "u", device: "d", after: 0, now: Self.t0)
        #expect(inbox.messages.map { String(buffer: $0.payload) } == ["m1"])
        #expect(try await Self.push(store, users: ["u"], "m2", now: Self.at(2)).messages == [[UserSequence(user: "u", seq: 2)]])
        #expect(
            try await store.messages.appendBroadcast(
                app: "demo", payload: ByteBuffer(string: "b3"), ttl: .seconds(60), keep: 10, now: Self.t0) == 3)
        // Rows from before version 5 are trimmed by the appends after it like their own.
        #expect(
            try await store.messages.appendBroadcast(
                app: "demo", payload: ByteBuffer(string: "b4"), ttl: .seconds(60), keep: 2, now: Self.t0) == 4)
        let trimmed = try await store.messages.broadcasts(app: "demo", after: 0, now: Self.t0)
        #expect(trimmed.messages.map(\.seq) == [3, 4])
        #expect(trimmed.trimmedThrough == 2)
        #expect(try await store.execute("SELECT seq FROM broadcasts WHERE app = 'demo'").count == 2)
        #expect(try await store.messages.purge(now: Self.at(7 * 24 * 3600), deadLetterLimit: 10).idempotencyRecords == 1)
        try await store.close()
    }

    @Test func policiesAreStoredAsJSON() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try await SQLiteStore.open(directory: directory.path)
        let policy = AppPolicy(
            inboxLimit: 5, defaultTTL: 10, maxTTL: 20, broadcastTTL: 30, broadcastLimit: 0, deadLetters: .drop)
        try await store.catalog.create(App(id: "custom", secret: "s", epoch: "e", createdAt: Self.t0, policy: policy))
        let rows = try await store.execute("SELECT policy FROM apps WHERE id = 'custom'")
        let json = try #require(rows.first?["policy"])
        #expect(try JSONDecoder().decode(AppPolicy.self, from: Data(json.utf8)) == policy)
        try await store.close()

        // The default written into existing rows by migration 2 reads as today's default
        // policy (fields added since take their defaults).
        let migrationDefault = try #require(
            SQLiteMigrations.all.first { $0.version == 2 }?.statements.first
        )
        let quoted = try #require(migrationDefault.split(separator: "'", omittingEmptySubsequences: false).dropFirst().first)
        let written = String(quoted)
        #expect(try AppPolicy(storedJSON: written) == AppPolicy())
    }

    @Test func aMalformedPolicyIsReportedNotReplacedByDefaults() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try await SQLiteStore.open(directory: directory.path)
        _ = try await store.execute(
            "INSERT INTO apps (id, secret, epoch, created_at, policy) VALUES ('broken', 's', 'e', 0, 'not json')"
        )
        await #expect(throws: MessageStoreError.self) {
            try await store.catalog.app(id: "broken")
        }
        try await store.close()
    }

    /// Many concurrent appends through the group committer: all stored, none lost, each
    /// call's answer matching what the inbox holds, across a reopen.
    @Test func groupCommittedAppendsAreAllDurable() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let first = try await SQLiteStore.open(directory: directory.path)
        let count = 200
        let answers = try await withThrowingTaskGroup(of: (UInt32, String).self) { group in
            for index in 0..<count {
                group.addTask {
                    let text = "m\(index)"
                    let result = try await Self.push(first, users: ["u"], text, limit: 1000)
                    return (result.messages[0][0].seq, text)
                }
            }
            var all: [UInt32: String] = [:]
            for try await (seq, text) in group { all[seq] = text }
            return all
        }
        try await first.close()

        let second = try await SQLiteStore.open(directory: directory.path)
        let inbox = try await second.messages.inbox(app: "demo", user: "u", device: "d", after: 0, now: Self.t0)
        #expect(inbox.messages.map(\.seq) == Array(1...UInt32(count)))
        #expect(inbox.messages.allSatisfy { answers[$0.seq] == String(buffer: $0.payload) })
        try await second.close()
    }
    /// At the end of the sequence space the whole call is refused and undone, while other
    /// calls committed with it are stored.
    @Test func anExhaustedSequenceFailsOnlyItsOwnCall() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try await SQLiteStore.open(directory: directory.path)
        let nearlyFull = UInt32.max - 1
        _ = try await store.execute(
            "INSERT INTO inbox_state (app, user_id, last_seq) VALUES ('demo', 'full', \(nearlyFull))"
        )
        _ = try await store.execute(
            "INSERT INTO broadcast_state (app, seq, trimmed_through) VALUES ('demo', \(UInt32.max), 0)"
        )
        let twoMessages = InboxAppend(
            app: "demo",
            messages: [
                InboxMessage(users: ["other"], payload: ByteBuffer(string: "a"), ttl: .seconds(60)),
                InboxMessage(users: ["full"], payload: ByteBuffer(string: "b"), ttl: .seconds(60)),
                InboxMessage(users: ["full"], payload: ByteBuffer(string: "c"), ttl: .seconds(60)),
            ],
            inboxLimit: 10,
            now: Self.t0
        )
        let refused = Task { try await store.messages.appendInbox(twoMessages) }
        let stored = Task { try await Self.push(store, users: ["bystander"], "fine") }
        await #expect(throws: MessageStoreError.sequenceExhausted(app: "demo")) { try await refused.value }
        #expect(try await stored.value.messages == [[UserSequence(user: "bystander", seq: 1)]])

        #expect(try await store.messages.lastInboxSequence(app: "demo", user: "full") == nearlyFull)
        #expect(try await store.messages.lastInboxSequence(app: "demo", user: "other") == 0)
        #expect(try await Self.push(store, users: ["full"], "last").messages[0][0].seq == UInt32.max)

        await #expect(throws: MessageStoreError.sequenceExhausted(app: "demo")) {
            try await store.messages.appendBroadcast(
                app: "demo", payload: ByteBuffer(), ttl: .seconds(60), keep: 10, now: Self.t0)
        }
        #expect(try await store.messages.lastBroadcastSequence(app: "demo") == UInt32.max)
        try await store.close()
    }
}
