import HeraldCore
import NIOCore
import SQLiteNIO

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// A ``MessageStore`` in ``SQLiteStore``: inboxes, cursors, the broadcast log, dead letters
/// and idempotency records, in the tables of migration 2.
///
/// QoS 1 appends are group-committed: concurrent calls share one transaction (and one
/// fsync), written with a few set-based statements per batch (``SQLiteInboxAppender``).
/// Every other call is one transaction of its own.
/// Failures of the database throw ``MessageStoreError/unavailable(_:)``.
public struct SQLiteMessageStore: MessageStore {
    private let executor: SQLiteExecutor
    private let committer: GroupCommitter<InboxAppend, InboxAppendResult>
    private let presence: InboxPresence

    init(executor: SQLiteExecutor, presence: InboxPresence) {
        self.executor = executor
        self.presence = presence
        self.committer = GroupCommitter { batch in
            try await SQLiteInboxAppender.commit(batch, executor: executor)
        }
    }

    public func appendInbox(_ append: InboxAppend) async throws -> InboxAppendResult {
        // Before the write: a session must never find a stored message's user absent.
        self.presence.insert(app: append.app, users: append.messages.lazy.flatMap(\.users))
        return try await self.committer.submit(append)
    }

    public func mayHaveInbox(app: String, user: String) -> Bool {
        self.presence.mayHave(app: app, user: user)
    }

    public func inbox(app: String, user: String, device: String, after: UInt32, now: Date, page: InboxPage) async throws
        -> InboxReplay
    {
        // Most sessions open for users with nothing ever stored. One statement tells, where
        // the transaction below takes four trips to SQLite's thread pool. A message stored
        // just after it looked reaches the opening session live, as it would after the
        // transaction.
        let known = try await self.executor.withConnection { connection in
            try await connection.query(
                "SELECT 1 FROM inbox_state WHERE app = ?1 AND user_id = ?2",
                [.text(app), .text(user)]
            )
        }
        guard !known.isEmpty else {
            return InboxReplay(messages: [], cursor: 0, lastSequence: 0, lostThrough: 0)
        }
        return try await self.executor.transaction(readOnly: true) { connection in
            // Rows expired at `now` but not purged yet already count as lost.
            let state = try await connection.query(
                """
                SELECT last_seq,
                    MAX(lost_through, COALESCE((
                        SELECT MAX(seq) FROM inbox_messages
                        WHERE app = ?1 AND user_id = ?2 AND expires_at <= ?4), 0)) AS lost_through,
                    COALESCE((
                        SELECT seq FROM inbox_cursors WHERE app = ?1 AND user_id = ?2 AND device = ?3), 0) AS cursor
                FROM inbox_state WHERE app = ?1 AND user_id = ?2
                """,
                [.text(app), .text(user), .text(device), .timestamp(now)]
            )
            guard let row = state.first else {
                return InboxReplay(messages: [], cursor: 0, lastSequence: 0, lostThrough: 0)
            }
            let cursor = try row.sequence("cursor")
            // The page: rows while the payloads before each stay under its bytes, and one row
            // more than it holds, so that `cut` can tell whether more follows.
            let rows = try await connection.query(
                """
                SELECT seq, payload FROM (
                    SELECT seq, payload,
                        SUM(length(payload)) OVER (ORDER BY seq ROWS UNBOUNDED PRECEDING) - length(payload) AS before
                    FROM inbox_messages
                    WHERE app = ?1 AND user_id = ?2 AND seq > ?3 AND expires_at > ?4
                    ORDER BY seq
                    LIMIT ?5
                ) WHERE before < ?6 ORDER BY seq
                """,
                [
                    .text(app), .text(user), .sequence(max(cursor, after)), .timestamp(now), .count(page.rows + 1),
                    .count(page.bytes),
                ]
            )
            let (messages, isComplete) = page.cut(
                try rows.map { StoredMessage(seq: try $0.sequence("seq"), payload: try $0.payload()) })
            return InboxReplay(
                messages: messages,
                cursor: cursor,
                lastSequence: try row.sequence("last_seq"),
                lostThrough: try row.sequence("lost_through"),
                isComplete: isComplete
            )
        }
    }

    public func acknowledge(_ acknowledgements: [InboxAcknowledgement]) async throws {
        // Cumulative: only the highest per device matters.
        var highest: [DeviceKey: UInt32] = [:]
        for ack in acknowledgements {
            let key = DeviceKey(app: ack.app, user: ack.user, device: ack.device)
            highest[key] = max(highest[key] ?? 0, ack.seq)
        }
        guard !highest.isEmpty else { return }
        var binds: [SQLiteData] = []
        binds.reserveCapacity(highest.count * 4)
        for (key, seq) in highest {
            binds.append(contentsOf: [.text(key.app), .text(key.user), .text(key.device), .sequence(seq)])
        }
        // A set-based upsert per chunk: a statement per device would take a thread-pool trip
        // each, holding the connection from the appends behind it for a whole batch.
        try await self.executor.transaction { connection in
            for chunk in SQLiteInboxBatchWriter.chunks(binds, columns: 4) {
                let rows = SQLiteInboxBatchWriter.placeholders(rows: chunk.count / 4, columns: 4)
                // No row for an unknown user: there is nothing to acknowledge.
                _ = try await connection.query(
                    """
                    WITH acked(app, user_id, device, seq) AS (VALUES \(rows))
                    INSERT INTO inbox_cursors (app, user_id, device, seq)
                    SELECT acked.app, acked.user_id, acked.device, MIN(acked.seq, inbox_state.last_seq)
                    FROM acked JOIN inbox_state
                        ON inbox_state.app = acked.app AND inbox_state.user_id = acked.user_id
                    WHERE inbox_state.last_seq > 0
                    ON CONFLICT (app, user_id, device) DO UPDATE SET seq = MAX(seq, excluded.seq)
                    """,
                    Array(chunk)
                )
            }
        }
    }

    public func lastInboxSequence(app: String, user: String) async throws -> UInt32 {
        try await self.executor.withConnection { connection in
            let rows = try await connection.query(
                "SELECT last_seq FROM inbox_state WHERE app = ?1 AND user_id = ?2",
                [.text(app), .text(user)]
            )
            return try rows.first?.sequence("last_seq") ?? 0
        }
    }

    public func appendBroadcast(app: String, payload: ByteBuffer, ttl: Duration, keep: Int, now: Date) async throws
        -> UInt32
    {
        // One statement, atomic on its own: the trigger of migration 5 advances the app's
        // sequence and trims the log. A writing statement takes the write lock before it
        // reads (a second process waits as at BEGIN IMMEDIATE). Past UInt32.max nothing is
        // inserted and no row returns.
        let statement = """
            INSERT INTO broadcasts (app, seq, payload, expires_at, keep)
            SELECT ?1, next.seq, COALESCE(?2, X''), ?3, ?4
            FROM (SELECT COALESCE((SELECT seq FROM broadcast_state WHERE app = ?1), 0) + 1 AS seq) AS next
            WHERE next.seq <= 4294967295
            RETURNING seq
            """
        let binds: [SQLiteData] = [
            .text(app), .blob(payload), .timestamp(now.addingTimeInterval(ttl.timeInterval)), .count(max(0, keep)),
        ]
        let rows = try await self.executor.withConnection { try await $0.query(statement, binds) }
        guard let row = rows.first else { throw MessageStoreError.sequenceExhausted(app: app) }
        return try row.sequence("seq")
    }

    public func broadcasts(app: String, after: UInt32, now: Date) async throws -> BroadcastReplay {
        try await self.executor.transaction(readOnly: true) { connection in
            let state = try await connection.query(
                """
                SELECT seq,
                    MAX(trimmed_through, COALESCE((
                        SELECT MAX(seq) FROM broadcasts WHERE app = ?1 AND expires_at <= ?2), 0)) AS trimmed_through
                FROM broadcast_state WHERE app = ?1
                """,
                [.text(app), .timestamp(now)]
            )
            guard let row = state.first else {
                return BroadcastReplay(messages: [], lastSequence: 0, trimmedThrough: 0)
            }
            let rows = try await connection.query(
                """
                SELECT seq, payload FROM broadcasts
                WHERE app = ?1 AND seq > ?2 AND expires_at > ?3
                ORDER BY seq
                """,
                [.text(app), .sequence(after), .timestamp(now)]
            )
            return BroadcastReplay(
                messages: try rows.map { StoredMessage(seq: try $0.sequence("seq"), payload: try $0.payload()) },
                lastSequence: try row.sequence("seq"),
                trimmedThrough: try row.sequence("trimmed_through")
            )
        }
    }

    public func lastBroadcastSequence(app: String) async throws -> UInt32 {
        try await self.executor.withConnection { connection in
            let rows = try await connection.query("SELECT seq FROM broadcast_state WHERE app = ?1", [.text(app)])
            return try rows.first?.sequence("seq") ?? 0
        }
    }

    public func purge(now: Date, deadLetterLimit: Int, chunk: Int) async throws -> PurgeReport {
        let chunk = max(1, chunk)
        return try await self.executor.transaction { connection in
            var report = PurgeReport()
            let nowValue = SQLiteData.timestamp(now)
            let chunkValue = SQLiteData.count(chunk)
            // This call's share of the expired messages, the soonest expired first (the expiry
            // index's order); the three statements see the same rows, as only the last deletes.
            let inboxChunk = """
                SELECT rowid FROM inbox_messages WHERE expires_at <= ?1 ORDER BY expires_at LIMIT ?2
                """

            // Expired inbox messages: dead letters first (in app, user, seq order), then the
            // watermarks, then the rows themselves.
            _ = try await connection.query(
                """
                INSERT INTO dead_letters (app, user_id, seq, payload, reason, created_at, died_at)
                SELECT m.app, m.user_id, m.seq, m.payload, 'expired', m.created_at, ?1 FROM inbox_messages AS m
                WHERE m.rowid IN (\(inboxChunk)) AND m.keeps_dead_letter = 1
                    AND m.seq > (
                        SELECT COALESCE(MAX(c.seq), 0) FROM inbox_cursors AS c
                        WHERE c.app = m.app AND c.user_id = m.user_id)
                ORDER BY m.app, m.user_id, m.seq
                """,
                [nowValue, chunkValue]
            )
            report.deadLettered = try await Self.changes(on: connection)
            _ = try await connection.query(
                """
                UPDATE inbox_state SET lost_through = MAX(inbox_state.lost_through, expired.seq)
                FROM (
                    SELECT app, user_id, MAX(seq) AS seq FROM inbox_messages
                    WHERE rowid IN (\(inboxChunk)) GROUP BY app, user_id
                ) AS expired
                WHERE inbox_state.app = expired.app AND inbox_state.user_id = expired.user_id
                """,
                [nowValue, chunkValue]
            )
            _ = try await connection.query(
                "DELETE FROM inbox_messages WHERE rowid IN (\(inboxChunk))", [nowValue, chunkValue])
            report.expired = try await Self.changes(on: connection) - report.deadLettered

            let broadcastChunk = "SELECT rowid FROM broadcasts WHERE expires_at <= ?1 ORDER BY expires_at LIMIT ?2"
            _ = try await connection.query(
                """
                UPDATE broadcast_state SET trimmed_through = MAX(broadcast_state.trimmed_through, expired.seq)
                FROM (
                    SELECT app, MAX(seq) AS seq FROM broadcasts WHERE rowid IN (\(broadcastChunk)) GROUP BY app
                ) AS expired
                WHERE broadcast_state.app = expired.app
                """,
                [nowValue, chunkValue]
            )
            _ = try await connection.query(
                "DELETE FROM broadcasts WHERE rowid IN (\(broadcastChunk))", [nowValue, chunkValue])
            report.broadcasts = try await Self.changes(on: connection)

            _ = try await connection.query(
                """
                DELETE FROM dead_letters WHERE id IN (
                    SELECT id FROM (
                        SELECT id, ROW_NUMBER() OVER (PARTITION BY app ORDER BY id DESC) AS position
                        FROM dead_letters
                    ) WHERE position > ?1
                    LIMIT ?2
                )
                """,
                [.count(max(0, deadLetterLimit)), chunkValue]
            )
            report.deadLettersTrimmed = try await Self.changes(on: connection)

            // The planner's rule: a record at least a window old answers no retry, so it goes.
            let oldest = now.addingTimeInterval(-InboxAppend.idempotencyWindow.timeInterval)
            _ = try await connection.query(
                "DELETE FROM idempotency_records WHERE rowid IN (SELECT rowid FROM idempotency_records WHERE created_at <= ?1 LIMIT ?2)",
                [.timestamp(oldest), chunkValue]
            )
            report.idempotencyRecords = try await Self.changes(on: connection)
            report.noteChunk(chunk)
            return report
        }
    }

    public func deadLetters(app: String, before: Int64?, limit: Int) async throws -> DeadLetterPage {
        let limit = max(0, limit)
        let rows = try await self.executor.withConnection { connection in
            try await connection.query(
                """
                SELECT id, app, user_id, seq, payload, reason, created_at, died_at FROM dead_letters
                WHERE app = ?1 AND (?2 IS NULL OR id < ?2)
                ORDER BY id DESC LIMIT ?3
                """,
                [.text(app), before.map { .integer(SQLiteInt64($0)) } ?? .null, .count(limit + 1)]
            )
        }
        var letters: [DeadLetter] = []
        letters.reserveCapacity(min(rows.count, limit))
        for row in rows.prefix(limit) {
            guard let id = row.column("id")?.integer,
                let reason = DeadLetterReason(rawValue: try row.text("reason"))
            else {
                throw MessageStoreError.unavailable("SQLite: the dead_letters table holds a malformed row")
            }
            letters.append(
                DeadLetter(
                    id: Int64(id),
                    app: try row.text("app"),
                    user: try row.text("user_id"),
                    seq: try row.sequence("seq"),
                    payload: try row.payload(),
                    reason: reason,
                    createdAt: try row.timestamp("created_at"),
                    diedAt: try row.timestamp("died_at")
                )
            )
        }
        return DeadLetterPage(deadLetters: letters, next: rows.count > limit ? letters.last?.id : nil)
    }

    /// Rows changed by the connection's previous statement.
    private static func changes(on connection: SQLiteConnection) async throws -> Int {
        try await connection.query("SELECT changes() AS count").first?.column("count")?.integer ?? 0
    }

    private struct DeviceKey: Hashable {
        var app: String
        var user: String
        var device: String
    }
}
