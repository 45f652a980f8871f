import HeraldCore
import SQLiteNIO

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Carries out a group-committed batch of ``InboxAppend`` requests with a few multi-row
/// statements for the whole batch instead of a few per message copy, since each sqlite-nio
/// statement is a trip to the thread pool. ``InboxPlanner`` decides what to write; this
/// reads the state it needs and writes the plan.
enum SQLiteInboxBatchWriter {
    /// Bound parameters per statement, well under sqlite-nio's SQLITE_MAX_VARIABLE_NUMBER.
    private static let maxParameters = 32_000
    /// Users per bound query: each brings a correlated subquery, which keeps statements short.
    private static let maxBoundUsers = 500

    /// Writes `batch` inside the caller's transaction; one result per request.
    ///
    /// Idempotency conflicts fail their request without writing. An exhausted sequence throws
    /// ``MessageStoreError/sequenceExhausted(app:)`` for the whole batch (the caller redoes it
    /// with a savepoint per request).
    static func write(
        _ batch: [InboxAppend],
        on connection: SQLiteConnection
    ) async throws -> [Result<InboxAppendResult, any Error>] {
        let records = try await Self.readRecords(of: batch, on: connection)
        let planner = InboxPlanner(batch: batch, records: records)
        var state = InboxState(records: records)
        if !planner.inboxes.isEmpty {
            let lastSequences = try await Self.takeSequences(planner, on: connection)
            for (key, last) in lastSequences {
                state.inboxes[key] = InboxState.Inbox(lastSequence: last)
            }
            let reads = planner.reads(lastSequences: lastSequences)
            if !reads.isEmpty {
                try await Self.readInboxes(reads, into: &state, on: connection)
            }
        }
        let plan = planner.plan(state)
        if plan.exhaustsSequence, let app = batch.first?.app {
            // The sequence upsert was checked; only a plan at odds with it gets here.
            throw MessageStoreError.sequenceExhausted(app: app)
        }
        try await Self.carryOut(plan, of: batch, on: connection)
        return plan.results.map { $0.mapError { $0 } }
    }

    // MARK: - Reads

    /// The idempotency records the batch's keys name.
    private static func readRecords(
        of batch: [InboxAppend],
        on connection: SQLiteConnection
    ) async throws -> [InboxState.RecordKey: InboxState.Record] {
        var wanted: [InboxState.RecordKey] = []
        var seen: Set<InboxState.RecordKey> = []
        for append in batch {
            guard let idempotency = append.idempotency else { continue }
            let key = InboxState.RecordKey(app: append.app, key: idempotency.key)
            if seen.insert(key).inserted { wanted.append(key) }
        }
        guard !wanted.isEmpty else { return [:] }

        var records: [InboxState.RecordKey: InboxState.Record] = [:]
        let binds = wanted.flatMap { [SQLiteData.text($0.app), .text($0.key)] }
        for chunk in Self.chunks(binds, columns: 2) {
            let rows = try await connection.query(
                """
                WITH wanted(app, key) AS (VALUES \(Self.placeholders(rows: chunk.count / 2, columns: 2)))
                SELECT i.app, i.key, i.fingerprint, i.result, i.created_at
                FROM wanted JOIN idempotency_records i ON i.app = wanted.app AND i.key = wanted.key
                """,
                Array(chunk)
            )
            for row in rows {
                let key = InboxState.RecordKey(app: try row.text("app"), key: try row.text("key"))
                let result = try? JSONDecoder().decode(InboxAppendResult.self, from: Data(try row.text("result").utf8))
                records[key] = InboxState.Record(
                    fingerprint: try row.text("fingerprint"), result: result, createdAt: try row.timestamp("created_at"))
            }
        }
        return records
    }

    /// Raises each inbox's `last_seq` by the writers' messages for it in one upsert per
    /// chunk, and returns the values before.
    private static func takeSequences(
        _ planner: InboxPlanner,
        on connection: SQLiteConnection
    ) async throws -> [InboxKey: UInt32] {
        var binds: [SQLiteData] = []
        binds.reserveCapacity(planner.inboxes.count * 3)
        for key in planner.inboxes {
            binds += [.text(key.app), .text(key.user), .count(planner.copies[key] ?? 0)]
        }
        var lastSequences: [InboxKey: UInt32] = [:]
        for chunk in Self.chunks(binds, columns: 3) {
            let rows = try await connection.query(
                """
                INSERT INTO inbox_state (app, user_id, last_seq) VALUES \(Self.placeholders(rows: chunk.count / 3, columns: 3))
                ON CONFLICT (app, user_id) DO UPDATE SET last_seq = last_seq + excluded.last_seq
                RETURNING app, user_id, last_seq
                """,
                Array(chunk)
            )
            for row in rows {
                let key = InboxKey(app: try row.text("app"), user: try row.text("user_id"))
                guard let copies = planner.copies[key], let last = row.column("last_seq")?.integer else {
                    throw MessageStoreError.unavailable("SQLite: the inbox sequence update returned an unknown row")
                }
                // The caller rolls the increments back: a sequence never wraps within an epoch.
                guard let before = UInt32(exactly: Int64(last) - Int64(copies)), Int64(last) <= Int64(UInt32.max) else {
                    throw MessageStoreError.sequenceExhausted(app: key.app)
                }
                lastSequences[key] = before
            }
        }
        guard lastSequences.count == planner.inboxes.count else {
            throw MessageStoreError.unavailable("SQLite: the inbox sequence update returned no row")
        }
        return lastSequences
    }

    /// Reads what the planner asks of the inboxes the batch may trim: the stored messages
    /// older than the skipped newest ones, the highest acknowledged cursor, and the skipped
    /// messages with a collapse key of the batch.
    private static func readInboxes(
        _ reads: [InboxKey: InboxPlanner.Read],
        into state: inout InboxState,
        on connection: SQLiteConnection
    ) async throws {
        let keys = Array(reads.keys)
        for start in stride(from: 0, to: keys.count, by: Self.maxBoundUsers) {
            let slice = keys[start..<min(keys.count, start + Self.maxBoundUsers)]
            var binds: [SQLiteData] = []
            binds.reserveCapacity(slice.count * 3)
            var rows: [String] = []
            rows.reserveCapacity(slice.count)
            for (offset, key) in slice.enumerated() {
                let base = offset * 3
                binds += [.text(key.app), .text(key.user), .count(reads[key]?.skip ?? 0)]
                rows.append(
                    """
                    (?\(base + 1), ?\(base + 2), (SELECT seq FROM inbox_messages WHERE app = ?\(base + 1) \
                    AND user_id = ?\(base + 2) ORDER BY seq DESC LIMIT 1 OFFSET ?\(base + 3)))
                    """
                )
            }
            let found = try await connection.query(
                """
                WITH bound(app, user_id, cut) AS (VALUES \(rows.joined(separator: ", ")))
                SELECT b.app, b.user_id, m.seq, m.collapse_key, m.keeps_dead_letter, 0 AS kind
                FROM bound b JOIN inbox_messages m ON m.app = b.app AND m.user_id = b.user_id AND m.seq <= b.cut
                UNION ALL
                SELECT b.app, b.user_id, (
                    SELECT COALESCE(MAX(c.seq), 0) FROM inbox_cursors c WHERE c.app = b.app AND c.user_id = b.user_id
                ), NULL, 0, 1
                FROM bound b
                """,
                binds
            )
            for row in found {
                let key = InboxKey(app: try row.text("app"), user: try row.text("user_id"))
                guard reads[key] != nil, state.inboxes[key] != nil else {
                    throw MessageStoreError.unavailable("SQLite: the inbox read returned an unknown row")
                }
                if row.column("kind")?.integer == 0 {
                    state.inboxes[key]?.oldest.append(try Self.entry(row))
                } else {
                    state.inboxes[key]?.acknowledged = try row.sequence("seq")
                }
            }
        }
        for key in keys {
            state.inboxes[key]?.skipped = reads[key]?.skip ?? 0
        }

        var collapseBinds: [SQLiteData] = []
        for (key, read) in reads {
            for collapseKey in read.collapseKeys {
                collapseBinds += [.text(key.app), .text(key.user), .text(collapseKey)]
            }
        }
        for chunk in Self.chunks(collapseBinds, columns: 3) {
            let found = try await connection.query(
                """
                WITH wanted(app, user_id, collapse_key) AS (VALUES \(Self.placeholders(rows: chunk.count / 3, columns: 3)))
                SELECT m.app, m.user_id, m.seq, m.collapse_key, m.keeps_dead_letter
                FROM wanted w JOIN inbox_messages m
                ON m.app = w.app AND m.user_id = w.user_id AND m.collapse_key = w.collapse_key
                """,
                Array(chunk)
            )
            for row in found {
                let key = InboxKey(app: try row.text("app"), user: try row.text("user_id"))
                state.inboxes[key]?.collapsible.append(try Self.entry(row))
            }
        }
    }

    private static func entry(_ row: SQLiteRow) throws -> InboxState.Entry {
        InboxState.Entry(
            seq: try row.sequence("seq"),
            collapseKey: row.column("collapse_key")?.string,
            keepsDeadLetter: row.column("keeps_dead_letter")?.integer == 1
        )
    }

    // MARK: - Writes

    /// Writes `plan`: dead letters first (they copy stored rows), then deletions, insertions,
    /// watermarks and idempotency records.
    private static func carryOut(_ plan: InboxPlan, of batch: [InboxAppend], on connection: SQLiteConnection) async throws {
        var deadBinds: [SQLiteData] = []
        deadBinds.reserveCapacity(plan.deadLetters.count * 8)
        for (order, dead) in plan.deadLetters.enumerated() {
            deadBinds += [.text(dead.key.app), .text(dead.key.user), .sequence(dead.seq), .timestamp(dead.diedAt), .count(order)]
            switch dead.source {
            case .stored:
                deadBinds += [.integer(1), .null, .null]
            case .batch(let request, let message):
                deadBinds += [.integer(0), .blob(batch[request].messages[message].payload), .timestamp(batch[request].now)]
            }
        }
        // COALESCE: sqlite-nio binds an empty buffer as NULL.
        try await Self.runChunked(deadBinds, columns: 8, on: connection) { rows in
            """
            WITH dying(app, user_id, seq, died_at, ord, stored, payload, created_at) AS (VALUES \(rows))
            INSERT INTO dead_letters (app, user_id, seq, payload, reason, created_at, died_at)
            SELECT d.app, d.user_id, d.seq,
                CASE WHEN d.stored = 1 THEN m.payload ELSE COALESCE(d.payload, X'') END, 'inbox_full',
                CASE WHEN d.stored = 1 THEN m.created_at ELSE d.created_at END, d.died_at
            FROM dying d LEFT JOIN inbox_messages m
                ON d.stored = 1 AND m.app = d.app AND m.user_id = d.user_id AND m.seq = d.seq
            WHERE d.stored = 0 OR m.seq IS NOT NULL
            ORDER BY d.ord
            """
        }

        let replaced = plan.replacements.flatMap { [SQLiteData.text($0.key.app), .text($0.key.user), .text($0.collapseKey)] }
        try await Self.runChunked(replaced, columns: 3, on: connection) { rows in
            """
            WITH replaced(app, user_id, collapse_key) AS (VALUES \(rows))
            DELETE FROM inbox_messages WHERE rowid IN (
                SELECT m.rowid FROM replaced JOIN inbox_messages m
                ON m.app = replaced.app AND m.user_id = replaced.user_id
                    AND m.collapse_key = replaced.collapse_key AND m.collapse_key IS NOT NULL)
            """
        }

        let removed = plan.removals.flatMap { [SQLiteData.text($0.key.app), .text($0.key.user), .sequence($0.seq)] }
        try await Self.runChunked(removed, columns: 3, on: connection) { rows in
            """
            WITH removed(app, user_id, seq) AS (VALUES \(rows))
            DELETE FROM inbox_messages WHERE rowid IN (
                SELECT m.rowid FROM removed JOIN inbox_messages m
                ON m.app = removed.app AND m.user_id = removed.user_id AND m.seq = removed.seq)
            """
        }

        var inserted: [SQLiteData] = []
        inserted.reserveCapacity(plan.insertions.count * 8)
        for insertion in plan.insertions {
            let append = batch[insertion.request]
            let message = append.messages[insertion.message]
            inserted += [
                .text(append.app), .text(insertion.key.user), .sequence(insertion.seq), .blob(message.payload),
                .timestamp(append.now.addingTimeInterval(message.ttl.timeInterval)), .timestamp(append.now),
                message.collapseKey.map(SQLiteData.text) ?? .null, .integer(message.keepsDeadLetter ? 1 : 0),
            ]
        }
        try await Self.runChunked(inserted, columns: 8, row: "(?, ?, ?, COALESCE(?, X''), ?, ?, ?, ?)", on: connection) {
            rows in
            """
            INSERT INTO inbox_messages
                (app, user_id, seq, payload, expires_at, created_at, collapse_key, keeps_dead_letter)
            VALUES \(rows)
            """
        }

        // The rows exist (the sequence upsert made them): this only raises lost_through.
        let lost = plan.lostThrough.flatMap { [SQLiteData.text($0.key.app), .text($0.key.user), .sequence($0.value)] }
        try await Self.runChunked(lost, columns: 3, row: "(?, ?, 0, ?)", on: connection) { rows in
            """
            INSERT INTO inbox_state (app, user_id, last_seq, lost_through) VALUES \(rows)
            ON CONFLICT (app, user_id) DO UPDATE SET lost_through = MAX(lost_through, excluded.lost_through)
            """
        }

        var records: [SQLiteData] = []
        for record in plan.records {
            let json = String(decoding: try JSONEncoder().encode(record.result), as: UTF8.self)
            records += [
                .text(record.app), .text(record.key), .text(record.fingerprint), .text(json), .timestamp(record.createdAt),
            ]
        }
        try await Self.runChunked(records, columns: 5, on: connection) { rows in
            """
            INSERT INTO idempotency_records (app, key, fingerprint, result, created_at) VALUES \(rows)
            ON CONFLICT (app, key) DO UPDATE SET
                fingerprint = excluded.fingerprint, result = excluded.result, created_at = excluded.created_at
            """
        }
    }

    // MARK: - Statements

    /// Runs `sql(rows)` once per chunk of `binds`, `columns` values a row.
    private static func runChunked(
        _ binds: [SQLiteData],
        columns: Int,
        row: String? = nil,
        on connection: SQLiteConnection,
        _ sql: (String) -> String
    ) async throws {
        for chunk in Self.chunks(binds, columns: columns) {
            let rows = Self.placeholders(rows: chunk.count / columns, columns: columns, row: row)
            _ = try await connection.query(sql(rows), Array(chunk))
        }
    }

    static func chunks(_ binds: [SQLiteData], columns: Int) -> [ArraySlice<SQLiteData>] {
        let size = (Self.maxParameters / columns) * columns
        return stride(from: 0, to: binds.count, by: size).map { binds[$0..<min(binds.count, $0 + size)] }
    }

    /// `(?, ?, …), (?, ?, …), …`: `rows` rows of `row`, or of `columns` plain placeholders.
    static func placeholders(rows: Int, columns: Int, row: String? = nil) -> String {
        let one = row ?? "(" + Array(repeating: "?", count: columns).joined(separator: ", ") + ")"
        return Array(repeating: one, count: rows).joined(separator: ", ")
    }
}
