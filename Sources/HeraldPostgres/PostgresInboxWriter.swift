import HeraldCore
import PostgresNIO

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Stores QoS 1 appends with group commit: concurrent ``MessageStore/appendInbox(_:)`` calls
/// of this process share one transaction (one fsync), of at most ``copiesPerTransaction``
/// message copies so that it stays short.
///
/// A transaction normally stores its whole batch with a handful of set-based statements
/// (``PostgresInboxBatch``), whatever the number of messages; a request answered from its
/// idempotency record, or in conflict with it, fails or succeeds alone there without writing.
/// When a sequence may run out, an idempotency key repeats within the batch, or a statement
/// fails, the batch runs request by request instead, each request that may fail alone inside
/// its own SAVEPOINT, so that it rolls back alone.
///
/// Several processes write the same inboxes safely because every append first locks the
/// `inbox_state` rows of all the users of its batch, in one sorted order (so two batches
/// never wait on each other in a cycle), and takes each sequence from its locked row.
final class PostgresInboxWriter: Sendable {
    private let executor: PostgresExecutor
    private let committer: GroupCommitter<InboxAppend, InboxAppendResult>

    init(executor: PostgresExecutor, maxBatch: Int) {
        self.executor = executor
        self.committer = GroupCommitter(maxBatch: maxBatch) { [executor] batch in
            try await Self.commit(batch, executor: executor)
        }
    }

    func append(_ append: InboxAppend) async throws -> InboxAppendResult {
        if let reason = Self.invalidText(append) {
            // PostgreSQL text cannot hold NUL; failing here keeps the request out of a shared batch.
            throw MessageStoreError.unavailable(reason)
        }
        return try await self.committer.submit(append)
    }

    private static func invalidText(_ append: InboxAppend) -> String? {
        func hasNUL(_ string: String) -> Bool { string.utf8.contains(0) }
        if hasNUL(append.app) { return "the app id contains a NUL character" }
        if let key = append.idempotency, hasNUL(key.key) || hasNUL(key.fingerprint) {
            return "the idempotency key contains a NUL character"
        }
        for message in append.messages {
            if message.users.contains(where: hasNUL) { return "a user id contains a NUL character" }
            if let key = message.collapseKey, hasNUL(key) { return "the collapse key contains a NUL character" }
        }
        return nil
    }

    // MARK: - One batch

    /// The most message copies (messages times their users) one transaction stores, so that
    /// a large group-commit batch still commits in short transactions, well within the call
    /// timeout. A single request larger than this still goes in one transaction (it is atomic).
    static let copiesPerTransaction = 10_000

    /// Commits `batch` in transactions of at most ``copiesPerTransaction`` copies each, in
    /// order; a transaction that fails fails only its own requests.
    private static func commit(
        _ batch: [InboxAppend],
        executor: PostgresExecutor
    ) async throws -> [Result<InboxAppendResult, any Error>] {
        var results: [Result<InboxAppendResult, any Error>] = []
        results.reserveCapacity(batch.count)
        var start = 0
        while start < batch.count {
            var end = start
            var copies = 0
            while end < batch.count {
                let size = max(1, batch[end].messages.reduce(0) { $0 + $1.users.count })
                if end > start, copies + size > Self.copiesPerTransaction { break }
                copies += size
                end += 1
            }
            let part = Array(batch[start..<end])
            do {
                results += try await Self.commitTransaction(part, executor: executor)
            } catch {
                results += Array(repeating: .failure(error), count: part.count)
            }
            start = end
        }
        return results
    }

    /// One transaction: the set-based path (``PostgresInboxBatch``) when it applies, else, or
    /// when it meets an error the database reported for a statement, request by request.
    private static func commitTransaction(
        _ batch: [InboxAppend],
        executor: PostgresExecutor
    ) async throws -> [Result<InboxAppendResult, any Error>] {
        try await executor.transaction { connection in
            let locked = try await Self.lockInboxes(of: batch, connection: connection, executor: executor)
            if !locked.mayExhaust, !Self.repeatsIdempotencyKey(batch) {
                // The savepoint lets a failing statement fall back to the per-request path,
                // which isolates the request that caused it.
                try await executor.run(connection, "SAVEPOINT herald_batch")
                do {
                    let set = PostgresInboxBatch(
                        batch: batch, lastSeqs: locked.lastSeqs, connection: connection, executor: executor)
                    return try await set.store()
                } catch {
                    let failure = executor.storeError(error)
                    if failure is TransientConflict || !Self.failsAlone(error) { throw failure }
                    executor.logger.debug(
                        "batch append retried request by request", metadata: ["postgres.error": "\(failure)"])
                    try await executor.run(connection, "ROLLBACK TO SAVEPOINT herald_batch")
                }
            }
            return try await Self.perRequest(batch, mayExhaust: locked.mayExhaust, connection: connection, executor: executor)
        }
    }

    /// Whether two requests of `batch` carry the same idempotency key (for one app): the
    /// second must see what the first stored, which only the per-request path does.
    private static func repeatsIdempotencyKey(_ batch: [InboxAppend]) -> Bool {
        var seen: Set<InboxKey> = []
        for append in batch {
            if let idempotency = append.idempotency,
                !seen.insert(InboxKey(app: append.app, user: idempotency.key)).inserted
            {
                return true
            }
        }
        return false
    }

    /// The batch one request at a time (a few statements per message), each that may fail
    /// alone inside its own SAVEPOINT. Taken only when the set-based path cannot be.
    private static func perRequest(
        _ batch: [InboxAppend],
        mayExhaust: Bool,
        connection: PostgresConnection,
        executor: PostgresExecutor
    ) async throws -> [Result<InboxAppendResult, any Error>] {
        var results: [Result<InboxAppendResult, any Error>] = []
        results.reserveCapacity(batch.count)
        for append in batch {
            // Only a request with an idempotency key, or one that may run out of sequence
            // numbers, can fail on its own; the others skip the savepoint's round trips.
            guard append.idempotency != nil || mayExhaust else {
                results.append(.success(try await Self.store(append, connection: connection, executor: executor)))
                continue
            }
            try await executor.run(connection, "SAVEPOINT herald_append")
            do {
                let result = try await Self.store(append, connection: connection, executor: executor)
                try await executor.run(connection, "RELEASE SAVEPOINT herald_append")
                results.append(.success(result))
            } catch {
                let failure = executor.storeError(error)
                // A deadlock or a broken connection fails the whole batch (retried or 503).
                if failure is TransientConflict || !Self.failsAlone(error) { throw failure }
                try await executor.run(connection, "ROLLBACK TO SAVEPOINT herald_append")
                try await executor.run(connection, "RELEASE SAVEPOINT herald_append")
                results.append(.failure(failure))
            }
        }
        return results
    }

    /// Whether `error` concerns only the request that raised it: the store's own verdicts and
    /// errors the server reported for one statement (the connection still works).
    private static func failsAlone(_ error: any Error) -> Bool {
        switch error {
        case is MessageStoreError:
            return true
        case let error as PSQLError:
            return error.code == .server
        default:
            return false
        }
    }

    /// Locks (creating if needed) the `inbox_state` row of every user of the batch, sorted.
    ///
    /// - Returns: each inbox's last sequence, and whether the batch may exhaust a sequence,
    ///   counting every message it holds for each user from the locked (so current) ones.
    private static func lockInboxes(
        of batch: [InboxAppend],
        connection: PostgresConnection,
        executor: PostgresExecutor
    ) async throws -> (lastSeqs: [InboxKey: Int64], mayExhaust: Bool) {
        var pending: [InboxKey: Int64] = [:]
        for append in batch {
            for message in append.messages {
                for user in message.users { pending[InboxKey(app: append.app, user: user), default: 0] += 1 }
            }
        }
        guard !pending.isEmpty else { return ([:], false) }
        let sorted = pending.keys.sorted()
        let apps = sorted.map(\.app)
        let users = sorted.map(\.user)
        // Rows are upserted in the array's order (WITH ORDINALITY), so every process locks
        // them in the same order. The no-op update is what takes the lock on existing rows.
        let rows = try await executor.run(
            connection,
            """
            INSERT INTO inbox_state AS s (app, user_id)
            SELECT t.app, t.user_id FROM unnest(\(apps)::text[], \(users)::text[]) WITH ORDINALITY AS t(app, user_id, n)
            ORDER BY t.n
            ON CONFLICT (app, user_id) DO UPDATE SET last_seq = s.last_seq
            RETURNING s.app, s.user_id, s.last_seq
            """
        )
        var lastSeqs: [InboxKey: Int64] = [:]
        var mayExhaust = false
        for row in rows {
            let (app, user, last) = try row.decode((String, String, Int64).self)
            let key = InboxKey(app: app, user: user)
            lastSeqs[key] = last
            if last + (pending[key] ?? 0) > Int64(UInt32.max) { mayExhaust = true }
        }
        return (lastSeqs, mayExhaust)
    }

    /// One request (inside its savepoint when it may fail alone).
    private static func store(
        _ append: InboxAppend,
        connection: PostgresConnection,
        executor: PostgresExecutor
    ) async throws -> InboxAppendResult {
        if let idempotency = append.idempotency,
            let recorded = try await Self.claim(idempotency, of: append, connection: connection, executor: executor)
        {
            return recorded
        }
        var sequences: [[UserSequence]] = []
        sequences.reserveCapacity(append.messages.count)
        var deadLettered = 0
        for message in append.messages {
            let inserted = try await Self.insert(message, of: append, connection: connection, executor: executor)
            sequences.append(inserted.sequences)
            deadLettered += inserted.deadLettered
        }
        let result = InboxAppendResult(messages: sequences, deadLettered: deadLettered)
        if let idempotency = append.idempotency {
            let json = String(decoding: try JSONEncoder().encode(result), as: UTF8.self)
            try await executor.run(
                connection,
                """
                UPDATE idempotency_records SET result = \(json)::jsonb
                WHERE app = \(append.app) AND key = \(idempotency.key)
                """
            )
        }
        return result
    }

    /// Claims the idempotency key for this request, or answers from its record.
    ///
    /// Inserting first (rather than reading) makes a second process with the same key wait
    /// for the first one's commit and then see its record, instead of storing twice.
    /// - Returns: the recorded result when this is a retry; nil when the request must run.
    private static func claim(
        _ idempotency: IdempotencyKey,
        of append: InboxAppend,
        connection: PostgresConnection,
        executor: PostgresExecutor
    ) async throws -> InboxAppendResult? {
        let now = append.now.timeIntervalSince1970
        let claimed = try await executor.run(
            connection,
            """
            INSERT INTO idempotency_records (app, key, fingerprint, result, created_at)
            VALUES (\(append.app), \(idempotency.key), \(idempotency.fingerprint), NULL, \(now))
            ON CONFLICT (app, key) DO NOTHING
            RETURNING 1
            """
        )
        if !claimed.isEmpty { return nil }
        let rows = try await executor.run(
            connection,
            """
            SELECT fingerprint, result::text, created_at FROM idempotency_records
            WHERE app = \(append.app) AND key = \(idempotency.key)
            FOR UPDATE
            """
        )
        guard let row = rows.first else {
            throw MessageStoreError.unavailable("the idempotency record vanished while claimed")
        }
        let (fingerprint, result, createdAt) = try row.decode((String, String?, Double).self)
        if createdAt > now - Self.window {
            guard fingerprint == idempotency.fingerprint else { throw MessageStoreError.idempotencyConflict }
            guard let result else {
                throw MessageStoreError.unavailable("the idempotency record has no result")
            }
            return try JSONDecoder().decode(InboxAppendResult.self, from: Data(result.utf8)).asReplayed
        }
        // Past its window: replaced as if absent.
        try await executor.run(
            connection,
            """
            UPDATE idempotency_records
            SET fingerprint = \(idempotency.fingerprint), result = NULL, created_at = \(now)
            WHERE app = \(append.app) AND key = \(idempotency.key)
            """
        )
        return nil
    }

    /// ``InboxAppend/idempotencyWindow`` in seconds.
    static let window = InboxAppend.idempotencyWindow.timeInterval

    /// Stores one message for each of its users, in one statement: takes the next sequence
    /// from each (locked) `inbox_state` row, removes the user's messages with the same
    /// collapse key, removes the oldest messages past the inbox bound (raising the lost
    /// watermark, and as dead letters `inbox_full` when unacknowledged and kept), inserts.
    ///
    /// Every part reads the inbox as it was before the statement, so the bound keeps
    /// `limit - 1` of the messages that stay, plus the new one.
    /// - Returns: each user's sequence, and how many messages became dead letters.
    private static func insert(
        _ message: InboxMessage,
        of append: InboxAppend,
        connection: PostgresConnection,
        executor: PostgresExecutor
    ) async throws -> (sequences: [UserSequence], deadLettered: Int) {
        guard !message.users.isEmpty else { return ([], 0) }
        let now = append.now.timeIntervalSince1970
        let expiresAt = now + message.ttl.timeInterval
        let limit = Int64(max(1, append.inboxLimit))
        let rows = try await executor.run(
            connection,
            """
            WITH overflow AS (
                SELECT r.user_id, r.seq, r.payload, r.keeps_dead_letter, r.created_at
                FROM (
                    SELECT m.user_id, m.seq, m.payload, m.keeps_dead_letter, m.created_at,
                           row_number() OVER (PARTITION BY m.user_id ORDER BY m.seq DESC) AS newer
                    FROM inbox_messages m
                    WHERE m.app = \(append.app) AND m.user_id = ANY(\(message.users)::text[])
                      AND (\(message.collapseKey)::text IS NULL OR m.collapse_key IS DISTINCT FROM \(message.collapseKey)::text)
                ) r
                WHERE r.newer >= \(limit)
            ),
            given AS (
                UPDATE inbox_state s
                SET last_seq = s.last_seq + 1,
                    lost_through = GREATEST(s.lost_through, (SELECT max(o.seq) FROM overflow o WHERE o.user_id = s.user_id))
                WHERE s.app = \(append.app) AND s.user_id = ANY(\(message.users)::text[])
                RETURNING s.user_id, s.last_seq
            ),
            collapsed AS (
                DELETE FROM inbox_messages m
                WHERE \(message.collapseKey)::text IS NOT NULL
                  AND m.app = \(append.app) AND m.user_id = ANY(\(message.users)::text[])
                  AND m.collapse_key = \(message.collapseKey)::text
            ),
            trimmed AS (
                DELETE FROM inbox_messages m USING overflow o
                WHERE m.app = \(append.app) AND m.user_id = o.user_id AND m.seq = o.seq
            ),
            dead AS (
                INSERT INTO dead_letters (app, user_id, seq, payload, reason, created_at, died_at)
                SELECT \(append.app), o.user_id, o.seq, o.payload, 'inbox_full', o.created_at, \(now)
                FROM overflow o
                WHERE o.keeps_dead_letter
                  AND o.seq > COALESCE(
                      (SELECT max(c.seq) FROM inbox_cursors c WHERE c.app = \(append.app) AND c.user_id = o.user_id), 0)
                ORDER BY o.user_id, o.seq
                RETURNING 1
            ),
            inserted AS (
                INSERT INTO inbox_messages (app, user_id, seq, payload, collapse_key, keeps_dead_letter, created_at, expires_at)
                SELECT \(append.app), n.user_id, n.last_seq, \(message.payload), \(message.collapseKey)::text,
                       \(message.keepsDeadLetter), \(now), \(expiresAt)
                FROM given n
                WHERE n.last_seq <= \(Int64(UInt32.max))
            )
            SELECT user_id, last_seq, (SELECT count(*) FROM dead) AS dead_lettered FROM given
            """
        )
        var given: [String: Int64] = [:]
        var deadLettered: Int64 = 0
        for row in rows {
            let (user, seq, dead) = try row.decode((String, Int64, Int64).self)
            given[user] = seq
            deadLettered = dead
        }
        let sequences = try message.users.map { user in
            guard let seq = given[user] else {
                throw MessageStoreError.unavailable("no inbox row for a user of the batch")
            }
            guard let seq = UInt32(exactly: seq) else {
                // Thrown inside the savepoint: the whole request is rolled back.
                throw MessageStoreError.sequenceExhausted(app: append.app)
            }
            return UserSequence(user: user, seq: seq)
        }
        return (sequences, Int(deadLettered))
    }
}
