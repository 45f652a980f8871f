import HeraldCore
import SQLiteNIO

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The write path of ``SQLiteMessageStore/appendInbox(_:)``: a batch of group-committed
/// requests in one transaction, in which a failing request (an idempotency conflict, an
/// exhausted sequence) fails alone.
enum SQLiteInboxAppender {
    /// Runs `batch` in one `BEGIN IMMEDIATE` … `COMMIT` (one fsync), one result per request.
    ///
    /// Each statement is a trip to the thread pool, so the batch first runs set-based
    /// (``SQLiteInboxBatchWriter``: a few multi-row statements for the whole batch). If that
    /// cannot reproduce the message-by-message outcome, the batch runs again message by
    /// message. If a request fails on its own (an exhausted sequence), the transaction is
    /// rolled back and the batch runs again with a savepoint per request, so that only the
    /// failing one fails.
    static func commit(
        _ batch: [InboxAppend],
        executor: SQLiteExecutor
    ) async throws -> [Result<InboxAppendResult, any Error>] {
        do {
            return try await executor.transaction { connection in
                try await SQLiteInboxBatchWriter.write(batch, on: connection)
            }
        } catch let error as MessageStoreError where Self.failsAlone(error) {
            if batch.count == 1 { return [.failure(error)] }
            return try await Self.commitIsolated(batch, executor: executor)
        } catch is SQLiteInboxBatchWriter.NeedsSequentialPath {
            return try await Self.commitSequential(batch, executor: executor)
        }
    }

    /// The batch message by message, without savepoints.
    private static func commitSequential(
        _ batch: [InboxAppend],
        executor: SQLiteExecutor
    ) async throws -> [Result<InboxAppendResult, any Error>] {
        do {
            return try await executor.transaction { connection in
                var results: [Result<InboxAppendResult, any Error>] = []
                results.reserveCapacity(batch.count)
                for append in batch {
                    results.append(.success(try await Self.apply(append, on: connection)))
                }
                return results
            }
        } catch let error as MessageStoreError where Self.failsAlone(error) {
            if batch.count == 1 { return [.failure(error)] }
            return try await Self.commitIsolated(batch, executor: executor)
        }
    }

    /// Errors that belong to one request, not to the database.
    private static func failsAlone(_ error: MessageStoreError) -> Bool {
        switch error {
        case .idempotencyConflict, .sequenceExhausted: true
        case .unavailable: false
        }
    }

    /// The batch with a savepoint per request: a failing request undoes only itself.
    private static func commitIsolated(
        _ batch: [InboxAppend],
        executor: SQLiteExecutor
    ) async throws -> [Result<InboxAppendResult, any Error>] {
        try await executor.transaction { connection in
            var results: [Result<InboxAppendResult, any Error>] = []
            results.reserveCapacity(batch.count)
            for append in batch {
                _ = try await connection.query("SAVEPOINT inbox_append")
                do {
                    let result = try await Self.apply(append, on: connection)
                    _ = try await connection.query("RELEASE inbox_append")
                    results.append(.success(result))
                } catch {
                    // If even the savepoint cannot be rolled back (SQLite already undid the
                    // transaction after an I/O error) this throws and the whole batch fails.
                    _ = try await connection.query("ROLLBACK TO inbox_append")
                    _ = try await connection.query("RELEASE inbox_append")
                    results.append(.failure(Self.storeError(error)))
                }
            }
            return results
        }
    }

    private static func storeError(_ error: any Error) -> any Error {
        guard let error = error as? SQLiteError else { return error }
        return MessageStoreError.unavailable("SQLite: \(error)")
    }

    /// One request's writes; the caller's savepoint makes them all-or-nothing.
    private static func apply(_ append: InboxAppend, on connection: SQLiteConnection) async throws -> InboxAppendResult
    {
        if let idempotency = append.idempotency,
            let recorded = try await Self.recordedResult(
                app: append.app, idempotency: idempotency, now: append.now, on: connection)
        {
            return recorded
        }

        var sequences: [[UserSequence]] = []
        sequences.reserveCapacity(append.messages.count)
        var deadLettered = 0
        for message in append.messages {
            let expiresAt = append.now.addingTimeInterval(message.ttl.timeInterval)
            var given: [UserSequence] = []
            given.reserveCapacity(message.users.count)
            for user in message.users {
                let seq = try await Self.nextSequence(app: append.app, user: user, on: connection)
                if let collapseKey = message.collapseKey {
                    _ = try await connection.query(
                        "DELETE FROM inbox_messages WHERE app = ?1 AND user_id = ?2 AND collapse_key = ?3",
                        [.text(append.app), .text(user), .text(collapseKey)]
                    )
                }
                // COALESCE: sqlite-nio binds an empty buffer as NULL.
                _ = try await connection.query(
                    """
                    INSERT INTO inbox_messages
                        (app, user_id, seq, payload, expires_at, created_at, collapse_key, keeps_dead_letter)
                    VALUES (?1, ?2, ?3, COALESCE(?4, X''), ?5, ?6, ?7, ?8)
                    """,
                    [
                        .text(append.app), .text(user), .sequence(seq), .blob(message.payload),
                        .timestamp(expiresAt), .timestamp(append.now),
                        message.collapseKey.map(SQLiteData.text) ?? .null,
                        .integer(message.keepsDeadLetter ? 1 : 0),
                    ]
                )
                if InboxBound.mayBeExceeded(lastSequence: Int64(seq), limit: append.inboxLimit) {
                    deadLettered += try await Self.enforceBound(
                        app: append.app, user: user, limit: append.inboxLimit, now: append.now, on: connection)
                }
                given.append(UserSequence(user: user, seq: seq))
            }
            sequences.append(given)
        }

        let result = InboxAppendResult(messages: sequences, deadLettered: deadLettered)
        if let idempotency = append.idempotency {
            let json = String(decoding: try JSONEncoder().encode(result), as: UTF8.self)
            _ = try await connection.query(
                """
                INSERT INTO idempotency_keys (app, key, fingerprint, result, created_at) VALUES (?1, ?2, ?3, ?4, ?5)
                ON CONFLICT (app, key) DO UPDATE SET
                    fingerprint = excluded.fingerprint, result = excluded.result, created_at = excluded.created_at
                """,
                [
                    .text(append.app), .text(idempotency.key), .text(idempotency.fingerprint), .text(json),
                    .timestamp(append.now),
                ]
            )
        }
        return result
    }

    /// The answer recorded for a retry within the window, nil when the request is new (or its
    /// record is older than the window, which the request then replaces).
    private static func recordedResult(
        app: String,
        idempotency: IdempotencyKey,
        now: Date,
        on connection: SQLiteConnection
    ) async throws -> InboxAppendResult? {
        let rows = try await connection.query(
            "SELECT fingerprint, result, created_at FROM idempotency_keys WHERE app = ?1 AND key = ?2",
            [.text(app), .text(idempotency.key)]
        )
        guard let row = rows.first, InboxAppend.isWithinIdempotencyWindow(try row.timestamp("created_at"), now: now)
        else {
            return nil
        }
        guard try row.text("fingerprint") == idempotency.fingerprint else {
            throw MessageStoreError.idempotencyConflict
        }
        let result: InboxAppendResult
        do {
            result = try JSONDecoder().decode(InboxAppendResult.self, from: Data(try row.text("result").utf8))
        } catch {
            throw MessageStoreError.unavailable("SQLite: an idempotency record holds a malformed result")
        }
        return result.asReplayed
    }

    /// Takes the user's next inbox sequence.
    private static func nextSequence(app: String, user: String, on connection: SQLiteConnection) async throws -> UInt32
    {
        let rows = try await connection.query(
            """
            INSERT INTO inbox_state (app, user_id, last_seq) VALUES (?1, ?2, 1)
            ON CONFLICT (app, user_id) DO UPDATE SET last_seq = last_seq + 1
            RETURNING last_seq
            """,
            [.text(app), .text(user)]
        )
        guard let value = rows.first?.column("last_seq")?.integer else {
            throw MessageStoreError.unavailable("SQLite: the inbox sequence update returned no row")
        }
        // The savepoint rolls the increment back: a sequence never wraps within an epoch.
        guard let seq = UInt32(exactly: value) else { throw MessageStoreError.sequenceExhausted(app: app) }
        return seq
    }

    /// Past `limit` kept messages, the oldest leave: as dead letters `inbox_full` when no
    /// device acknowledged them and their policy keeps them; each raises `lost_through`.
    ///
    /// - Returns: how many became dead letters.
    private static func enforceBound(
        app: String,
        user: String,
        limit: Int,
        now: Date,
        on connection: SQLiteConnection
    ) async throws -> Int {
        // The newest message that must go, if any: everything up to it leaves.
        let rows = try await connection.query(
            "SELECT seq FROM inbox_messages WHERE app = ?1 AND user_id = ?2 ORDER BY seq DESC LIMIT 1 OFFSET ?3",
            [.text(app), .text(user), .count(max(0, limit))]
        )
        guard let row = rows.first else { return 0 }
        let cut = try row.sequence("seq")
        let binds: [SQLiteData] = [.text(app), .text(user), .sequence(cut), .timestamp(now)]
        _ = try await connection.query(
            """
            INSERT INTO dead_letters (app, user_id, seq, payload, reason, created_at, died_at)
            SELECT app, user_id, seq, payload, 'inbox_full', created_at, ?4 FROM inbox_messages
            WHERE app = ?1 AND user_id = ?2 AND seq <= ?3 AND keeps_dead_letter = 1
                AND seq > (SELECT COALESCE(MAX(seq), 0) FROM inbox_cursors WHERE app = ?1 AND user_id = ?2)
            ORDER BY seq
            """,
            binds
        )
        let deadLettered = try await connection.query("SELECT changes() AS count").first?.column("count")?.integer ?? 0
        _ = try await connection.query(
            "DELETE FROM inbox_messages WHERE app = ?1 AND user_id = ?2 AND seq <= ?3",
            Array(binds.prefix(3))
        )
        _ = try await connection.query(
            "UPDATE inbox_state SET lost_through = MAX(lost_through, ?3) WHERE app = ?1 AND user_id = ?2",
            Array(binds.prefix(3))
        )
        return deadLettered
    }
}
