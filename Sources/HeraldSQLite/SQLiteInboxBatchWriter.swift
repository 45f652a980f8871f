import HeraldCore
import SQLiteNIO

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The set-based write path of a group-committed batch of ``InboxAppend`` requests: a few
/// multi-row statements for the whole batch instead of a few per message copy, since each
/// sqlite-nio statement is a trip to the thread pool.
///
/// It gives exactly what running the requests one after another, message by message, would
/// give. Where that cannot be worked out from set-based statements (a user pushed past the
/// inbox bound in a batch that also collapses their messages or mixes inbox limits for them)
/// it throws ``NeedsSequentialPath`` and the caller redoes the batch the slow way.
enum SQLiteInboxBatchWriter {
    /// The batch needs the message-by-message path; nothing it wrote may be kept.
    struct NeedsSequentialPath: Error {}

    /// Bound parameters per statement, well under sqlite-nio's SQLITE_MAX_VARIABLE_NUMBER.
    private static let maxParameters = 32_000
    /// Users per bound query: each brings a correlated subquery, which keeps statements short.
    private static let maxBoundUsers = 500

    private struct IdempotencyRecordKey: Hashable {
        var app: String
        var key: String
    }

    private struct StoredRecord {
        var fingerprint: String
        var result: String
        var createdAt: Date
    }

    private enum Plan {
        case write
        case failed(any Error)
        /// Answered from a record stored before this batch.
        case replayed(InboxAppendResult)
        /// Answered from the result of an earlier request of this batch.
        case replayOf(Int)
    }

    /// One message for one user, in the order the sequential path would store it.
    private struct Copy {
        var request: Int
        var message: Int
        var user: Int
        var seq: UInt32 = 0
        /// False when a later copy for the same user with the same collapse key replaces it.
        var stored = true
    }

    private struct UserState {
        var key: InboxKey
        /// Indices into the copies, in order.
        var copies: [Int] = []
        /// The smallest inbox limit of the requests with copies for this user.
        var limit: Int
        var mixedLimits = false
        var collapses = false
        /// The user's `last_seq` once this batch's copies are numbered.
        var lastSequence: Int64 = 0
    }

    private struct DeadRow {
        var app: String
        var user: String
        var seq: UInt32
        var diedAt: Date
        /// The copy whose insert pushed it out: dead letters get their ids in this order.
        var copy: Int
    }

    /// Writes `batch` inside the caller's transaction; one result per request.
    ///
    /// Idempotency conflicts fail their request without writing. An exhausted sequence throws
    /// ``MessageStoreError/sequenceExhausted(app:)`` for the whole batch (the caller redoes it
    /// with a savepoint per request).
    static func write(
        _ batch: [InboxAppend],
        on connection: SQLiteConnection
    ) async throws -> [Result<InboxAppendResult, any Error>] {
        let plans = try await Self.plan(batch, on: connection)

        // Every copy, in request, message and user order.
        var copies: [Copy] = []
        var users: [UserState] = []
        var userIndex: [InboxKey: Int] = [:]
        for (requestIndex, append) in batch.enumerated() {
            guard case .write = plans[requestIndex] else { continue }
            let limit = max(0, append.inboxLimit)
            for (messageIndex, message) in append.messages.enumerated() {
                for user in message.users {
                    let key = InboxKey(app: append.app, user: user)
                    let index: Int
                    if let known = userIndex[key] {
                        index = known
                        if users[index].limit != limit {
                            users[index].mixedLimits = true
                            users[index].limit = min(users[index].limit, limit)
                        }
                    } else {
                        index = users.count
                        userIndex[key] = index
                        users.append(UserState(key: key, limit: limit))
                    }
                    if message.collapseKey != nil { users[index].collapses = true }
                    users[index].copies.append(copies.count)
                    copies.append(Copy(request: requestIndex, message: messageIndex, user: index))
                }
            }
        }

        var deadLettered = [Int](repeating: 0, count: batch.count)
        if !copies.isEmpty {
            try await Self.takeSequences(users: &users, userIndex: userIndex, copies: &copies, on: connection)
            try await Self.collapse(batch, users: users, copies: &copies, on: connection)
            try await Self.insert(batch, copies: copies, users: users, on: connection)
            try await Self.enforceBounds(
                batch, users: users, userIndex: userIndex, copies: copies, deadLettered: &deadLettered, on: connection)
        }

        // Results, in request order (a replay of an earlier request of the batch needs its result).
        var results: [Result<InboxAppendResult, any Error>] = []
        results.reserveCapacity(batch.count)
        var sequences: [[[UserSequence]]] = batch.map { append in append.messages.map { _ in [] } }
        for copy in copies {
            sequences[copy.request][copy.message].append(UserSequence(user: users[copy.user].key.user, seq: copy.seq))
        }
        var records: [SQLiteData] = []
        for index in batch.indices {
            switch plans[index] {
            case .write:
                let result = InboxAppendResult(messages: sequences[index], deadLettered: deadLettered[index])
                results.append(.success(result))
                if let idempotency = batch[index].idempotency {
                    let json = String(decoding: try JSONEncoder().encode(result), as: UTF8.self)
                    records += [
                        .text(batch[index].app), .text(idempotency.key), .text(idempotency.fingerprint), .text(json),
                        .timestamp(batch[index].now),
                    ]
                }
            case .failed(let error):
                results.append(.failure(error))
            case .replayed(let result):
                results.append(.success(result))
            case .replayOf(let earlier):
                results.append(results[earlier].map(\.asReplayed))
            }
        }
        // Rows with the same key (a record past its window replaced within the batch) are
        // applied in order, so the later one wins, as it would one request at a time.
        try await Self.runChunked(records, columns: 5, on: connection) { rows in
            """
            INSERT INTO idempotency_keys (app, key, fingerprint, result, created_at) VALUES \(rows)
            ON CONFLICT (app, key) DO UPDATE SET
                fingerprint = excluded.fingerprint, result = excluded.result, created_at = excluded.created_at
            """
        }
        return results
    }

    // MARK: - Idempotency

    /// What each request does: write, replay a record, or fail with an idempotency conflict.
    private static func plan(_ batch: [InboxAppend], on connection: SQLiteConnection) async throws -> [Plan] {
        var plans = [Plan](repeating: .write, count: batch.count)
        var wanted: [IdempotencyRecordKey] = []
        var seen: Set<IdempotencyRecordKey> = []
        for append in batch {
            guard let idempotency = append.idempotency else { continue }
            let key = IdempotencyRecordKey(app: append.app, key: idempotency.key)
            if seen.insert(key).inserted { wanted.append(key) }
        }
        guard !wanted.isEmpty else { return plans }

        var stored: [IdempotencyRecordKey: StoredRecord] = [:]
        let binds = wanted.flatMap { [SQLiteData.text($0.app), .text($0.key)] }
        for chunk in Self.chunks(binds, columns: 2) {
            let rows = try await connection.query(
                """
                WITH wanted(app, key) AS (VALUES \(Self.placeholders(rows: chunk.count / 2, columns: 2)))
                SELECT i.app, i.key, i.fingerprint, i.result, i.created_at
                FROM wanted JOIN idempotency_keys i ON i.app = wanted.app AND i.key = wanted.key
                """,
                Array(chunk)
            )
            for row in rows {
                let key = IdempotencyRecordKey(app: try row.text("app"), key: try row.text("key"))
                stored[key] = StoredRecord(
                    fingerprint: try row.text("fingerprint"), result: try row.text("result"),
                    createdAt: try row.timestamp("created_at"))
            }
        }

        // Records written by earlier requests of this batch come first, as they would have
        // been stored by the time a later request looked.
        var written: [IdempotencyRecordKey: (fingerprint: String, createdAt: Date, request: Int)] = [:]
        for (index, append) in batch.enumerated() {
            guard let idempotency = append.idempotency else { continue }
            let key = IdempotencyRecordKey(app: append.app, key: idempotency.key)
            if let earlier = written[key] {
                if InboxAppend.isWithinIdempotencyWindow(earlier.createdAt, now: append.now) {
                    plans[index] =
                        earlier.fingerprint == idempotency.fingerprint
                        ? .replayOf(earlier.request) : .failed(MessageStoreError.idempotencyConflict)
                    continue
                }
            } else if let record = stored[key], InboxAppend.isWithinIdempotencyWindow(record.createdAt, now: append.now) {
                if record.fingerprint == idempotency.fingerprint {
                    plans[index] = .replayed(try Self.decode(record.result).asReplayed)
                } else {
                    plans[index] = .failed(MessageStoreError.idempotencyConflict)
                }
                continue
            }
            written[key] = (idempotency.fingerprint, append.now, index)
        }
        return plans
    }

    private static func decode(_ json: String) throws -> InboxAppendResult {
        do {
            return try JSONDecoder().decode(InboxAppendResult.self, from: Data(json.utf8))
        } catch {
            throw MessageStoreError.unavailable("SQLite: an idempotency record holds a malformed result")
        }
    }

    // MARK: - Sequences, collapse, insert

    /// Raises each user's `last_seq` by their number of copies in one upsert per chunk and
    /// numbers the copies from the old value up, in order.
    private static func takeSequences(
        users: inout [UserState],
        userIndex: [InboxKey: Int],
        copies: inout [Copy],
        on connection: SQLiteConnection
    ) async throws {
        var binds: [SQLiteData] = []
        binds.reserveCapacity(users.count * 3)
        for user in users {
            binds += [.text(user.key.app), .text(user.key.user), .count(user.copies.count)]
        }
        var lastSequences = [Int64?](repeating: nil, count: users.count)
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
                guard let index = userIndex[InboxKey(app: try row.text("app"), user: try row.text("user_id"))],
                    let last = row.column("last_seq")?.integer
                else {
                    throw MessageStoreError.unavailable("SQLite: the inbox sequence update returned an unknown row")
                }
                lastSequences[index] = Int64(last)
            }
        }
        for (index, user) in users.enumerated() {
            guard let last = lastSequences[index] else {
                throw MessageStoreError.unavailable("SQLite: the inbox sequence update returned no row")
            }
            users[index].lastSequence = last
            // The caller rolls the increments back: a sequence never wraps within an epoch.
            guard last <= Int64(UInt32.max) else { throw MessageStoreError.sequenceExhausted(app: user.key.app) }
            var next = last - Int64(user.copies.count) + 1
            for copy in user.copies {
                guard let seq = UInt32(exactly: next) else {
                    throw MessageStoreError.unavailable("SQLite: inbox_state holds an impossible sequence")
                }
                copies[copy].seq = seq
                next += 1
            }
        }
    }

    /// Deletes the kept messages a copy with a collapse key replaces; a copy replaced by a
    /// later one of the same batch is never stored (as if stored and deleted at once).
    private static func collapse(
        _ batch: [InboxAppend],
        users: [UserState],
        copies: inout [Copy],
        on connection: SQLiteConnection
    ) async throws {
        var binds: [SQLiteData] = []
        for user in users where user.collapses {
            var keys: Set<String> = []
            for copy in user.copies.reversed() {
                guard let key = batch[copies[copy].request].messages[copies[copy].message].collapseKey else { continue }
                if keys.insert(key).inserted {
                    binds += [.text(user.key.app), .text(user.key.user), .text(key)]
                } else {
                    copies[copy].stored = false
                }
            }
        }
        try await Self.runChunked(binds, columns: 3, on: connection) { rows in
            """
            WITH replaced(app, user_id, collapse_key) AS (VALUES \(rows))
            DELETE FROM inbox_messages WHERE rowid IN (
                SELECT m.rowid FROM replaced JOIN inbox_messages m
                ON m.app = replaced.app AND m.user_id = replaced.user_id
                    AND m.collapse_key = replaced.collapse_key AND m.collapse_key IS NOT NULL)
            """
        }
    }

    private static func insert(
        _ batch: [InboxAppend],
        copies: [Copy],
        users: [UserState],
        on connection: SQLiteConnection
    ) async throws {
        var binds: [SQLiteData] = []
        binds.reserveCapacity(copies.count * 8)
        for copy in copies where copy.stored {
            let append = batch[copy.request]
            let message = append.messages[copy.message]
            binds += [
                .text(append.app), .text(users[copy.user].key.user), .sequence(copy.seq), .blob(message.payload),
                .timestamp(append.now.addingTimeInterval(message.ttl.timeInterval)), .timestamp(append.now),
                message.collapseKey.map(SQLiteData.text) ?? .null, .integer(message.keepsDeadLetter ? 1 : 0),
            ]
        }
        // COALESCE: sqlite-nio binds an empty buffer as NULL.
        try await Self.runChunked(binds, columns: 8, row: "(?, ?, ?, COALESCE(?, X''), ?, ?, ?, ?)", on: connection) {
            rows in
            """
            INSERT INTO inbox_messages
                (app, user_id, seq, payload, expires_at, created_at, collapse_key, keeps_dead_letter)
            VALUES \(rows)
            """
        }
    }

    // MARK: - Inbox bound

    /// Past a user's limit the oldest messages leave, as the sequential path has them leave
    /// one insert at a time: as dead letters `inbox_full` when no device acknowledged them
    /// and their policy keeps them, each raising `lost_through`. Counts the dead letters
    /// against the request whose insert pushed them out.
    private static func enforceBounds(
        _ batch: [InboxAppend],
        users: [UserState],
        userIndex: [InboxKey: Int],
        copies: [Copy],
        deadLettered: inout [Int],
        on connection: SQLiteConnection
    ) async throws {
        // The newest message that must go for each user past their limit. While nobody is
        // past it, counts only grow within a batch (a collapse deletes at most the one kept
        // message with its key), so no intermediate step was past it either.
        var cuts: [(user: Int, cut: Int64)] = []
        let candidates = users.filter { InboxBound.mayBeExceeded(lastSequence: $0.lastSequence, limit: $0.limit) }
        for start in stride(from: 0, to: candidates.count, by: Self.maxBoundUsers) {
            let slice = candidates[start..<min(candidates.count, start + Self.maxBoundUsers)]
            var binds: [SQLiteData] = []
            binds.reserveCapacity(slice.count * 3)
            var rows: [String] = []
            rows.reserveCapacity(slice.count)
            for (offset, user) in slice.enumerated() {
                let base = offset * 3
                binds += [.text(user.key.app), .text(user.key.user), .count(user.limit)]
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
                SELECT app, user_id, cut FROM bound WHERE cut IS NOT NULL
                """,
                binds
            )
            for row in found {
                guard let index = userIndex[InboxKey(app: try row.text("app"), user: try row.text("user_id"))],
                    let cut = row.column("cut")?.integer
                else {
                    throw MessageStoreError.unavailable("SQLite: the inbox bound query returned an unknown row")
                }
                cuts.append((index, Int64(cut)))
            }
        }
        guard !cuts.isEmpty else { return }
        // Only a uniform limit and no collapse make the sequential order follow from the counts.
        if cuts.contains(where: { users[$0.user].mixedLimits || users[$0.user].collapses }) {
            throw NeedsSequentialPath()
        }

        var cutBinds: [SQLiteData] = []
        cutBinds.reserveCapacity(cuts.count * 3)
        for (user, cut) in cuts {
            cutBinds += [.text(users[user].key.app), .text(users[user].key.user), .integer(SQLiteInt64(cut))]
        }

        // Everything up to the cut leaves: the R oldest of the user's C kept messages, of
        // which E = C - n were there before the batch's n copies. The sequential path takes
        // the m-th oldest out when it inserts copy max(1, m - R + n).
        var removed: [InboxKey: [(seq: UInt32, dead: Bool)]] = [:]
        for chunk in Self.chunks(cutBinds, columns: 3) {
            let rows = try await connection.query(
                """
                WITH bound(app, user_id, cut) AS (VALUES \(Self.placeholders(rows: chunk.count / 3, columns: 3))),
                acknowledged AS (
                    SELECT app, user_id, cut, (
                        SELECT COALESCE(MAX(c.seq), 0) FROM inbox_cursors c
                        WHERE c.app = bound.app AND c.user_id = bound.user_id) AS cursor
                    FROM bound)
                SELECT m.app, m.user_id, m.seq, (m.keeps_dead_letter = 1 AND m.seq > a.cursor) AS dead
                FROM acknowledged a JOIN inbox_messages m
                    ON m.app = a.app AND m.user_id = a.user_id AND m.seq <= a.cut
                ORDER BY m.app, m.user_id, m.seq
                """,
                Array(chunk)
            )
            for row in rows {
                let key = InboxKey(app: try row.text("app"), user: try row.text("user_id"))
                removed[key, default: []].append((try row.sequence("seq"), row.column("dead")?.integer == 1))
            }
        }

        var dead: [DeadRow] = []
        for (index, _) in cuts {
            let user = users[index]
            let gone = removed[user.key] ?? []
            let count = user.copies.count
            for (offset, row) in gone.enumerated() where row.dead {
                let step = max(1, offset + 1 - gone.count + count)
                let copy = user.copies[step - 1]
                let request = copies[copy].request
                deadLettered[request] += 1
                dead.append(
                    DeadRow(app: user.key.app, user: user.key.user, seq: row.seq, diedAt: batch[request].now, copy: copy))
            }
        }
        dead.sort { ($0.copy, $0.seq) < ($1.copy, $1.seq) }
        var deadBinds: [SQLiteData] = []
        deadBinds.reserveCapacity(dead.count * 5)
        for (order, row) in dead.enumerated() {
            deadBinds += [.text(row.app), .text(row.user), .sequence(row.seq), .timestamp(row.diedAt), .count(order)]
        }
        try await Self.runChunked(deadBinds, columns: 5, on: connection) { rows in
            """
            WITH dying(app, user_id, seq, died_at, ord) AS (VALUES \(rows))
            INSERT INTO dead_letters (app, user_id, seq, payload, reason, created_at, died_at)
            SELECT m.app, m.user_id, m.seq, m.payload, 'inbox_full', m.created_at, dying.died_at
            FROM dying JOIN inbox_messages m ON m.app = dying.app AND m.user_id = dying.user_id AND m.seq = dying.seq
            ORDER BY dying.ord
            """
        }
        try await Self.runChunked(cutBinds, columns: 3, on: connection) { rows in
            """
            WITH bound(app, user_id, cut) AS (VALUES \(rows))
            DELETE FROM inbox_messages WHERE rowid IN (
                SELECT m.rowid FROM bound JOIN inbox_messages m
                ON m.app = bound.app AND m.user_id = bound.user_id AND m.seq <= bound.cut)
            """
        }
        // The rows exist (the sequence upsert made them): this only raises lost_through.
        try await Self.runChunked(cutBinds, columns: 3, row: "(?, ?, 0, ?)", on: connection) { rows in
            """
            INSERT INTO inbox_state (app, user_id, last_seq, lost_through) VALUES \(rows)
            ON CONFLICT (app, user_id) DO UPDATE SET lost_through = MAX(lost_through, excluded.lost_through)
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
