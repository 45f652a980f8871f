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
/// When a sequence may run out or a statement fails, the batch runs request by request
/// instead (the same statements for a batch of one), each request that may fail alone inside
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
            if !locked.mayExhaust {
                // The savepoint lets a failing statement fall back to the per-request path,
                // which isolates the request that caused it.
                try await executor.run(connection, "SAVEPOINT herald_batch")
                do {
                    let set = PostgresInboxBatch(
                        batch: batch, lastSeqs: locked.lastSeqs, connection: connection, executor: executor)
                    return try await set.store().results
                } catch {
                    let failure = executor.storeError(error)
                    if failure is TransientConflict || !Self.failsAlone(error) { throw failure }
                    executor.logger.debug(
                        "batch append retried request by request", metadata: ["postgres.error": "\(failure)"])
                    try await executor.run(connection, "ROLLBACK TO SAVEPOINT herald_batch")
                }
            }
            return try await Self.perRequest(
                batch, lastSeqs: locked.lastSeqs, mayExhaust: locked.mayExhaust, connection: connection,
                executor: executor)
        }
    }

    /// The batch one request at a time, each that may fail alone inside its own SAVEPOINT.
    /// Taken only when the set-based path cannot be.
    private static func perRequest(
        _ batch: [InboxAppend],
        lastSeqs: [InboxKey: UInt32],
        mayExhaust: Bool,
        connection: PostgresConnection,
        executor: PostgresExecutor
    ) async throws -> [Result<InboxAppendResult, any Error>] {
        var lastSeqs = lastSeqs
        var results: [Result<InboxAppendResult, any Error>] = []
        results.reserveCapacity(batch.count)
        for append in batch {
            let request = PostgresInboxBatch(batch: [append], lastSeqs: lastSeqs, connection: connection, executor: executor)
            // Only a request with an idempotency key, or one that may run out of sequence
            // numbers, can fail on its own; the others skip the savepoint's round trips.
            guard append.idempotency != nil || mayExhaust else {
                let stored = try await request.store()
                lastSeqs.merge(stored.lastSeqs) { $1 }
                results.append(.success(try Self.only(stored.results)))
                continue
            }
            try await executor.run(connection, "SAVEPOINT herald_append")
            do {
                let stored = try await request.store()
                // A request that failed (a conflict, an exhausted sequence) throws here, so
                // that its savepoint undoes whatever it claimed.
                let result = try Self.only(stored.results)
                try await executor.run(connection, "RELEASE SAVEPOINT herald_append")
                lastSeqs.merge(stored.lastSeqs) { $1 }
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

    /// The one result of a batch of one request.
    private static func only(_ results: [Result<InboxAppendResult, any Error>]) throws -> InboxAppendResult {
        guard results.count == 1, let result = results.first else {
            throw MessageStoreError.unavailable("a request of the batch got no result")
        }
        return try result.get()
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
    ) async throws -> (lastSeqs: [InboxKey: UInt32], mayExhaust: Bool) {
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
        var lastSeqs: [InboxKey: UInt32] = [:]
        var mayExhaust = false
        for row in rows {
            let (app, user, last) = try row.decode((String, String, Int64).self)
            let key = InboxKey(app: app, user: user)
            guard let seq = UInt32(exactly: last) else {
                throw MessageStoreError.unavailable("inbox_state holds an impossible sequence")
            }
            lastSeqs[key] = seq
            if last + (pending[key] ?? 0) > Int64(UInt32.max) { mayExhaust = true }
        }
        return (lastSeqs, mayExhaust)
    }
}
