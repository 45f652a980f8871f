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
    /// Each statement is a trip to the thread pool, so the batch runs set-based
    /// (``SQLiteInboxBatchWriter``: a few multi-row statements for the whole batch). If a
    /// request fails on its own (an exhausted sequence), the transaction is rolled back and
    /// the batch runs again with a savepoint per request, so that only the failing one fails.
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
                    let written = try await SQLiteInboxBatchWriter.write([append], on: connection)
                    guard let result = written.first else {
                        throw MessageStoreError.unavailable("SQLite: the inbox write gave no result")
                    }
                    let value = try result.get()
                    _ = try await connection.query("RELEASE inbox_append")
                    results.append(.success(value))
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
}
