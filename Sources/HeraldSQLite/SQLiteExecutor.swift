import HeraldCore
import Logging
import NIOConcurrencyHelpers
import SQLiteNIO

/// The one connection to the database file, used by one caller at a time.
///
/// Every statement runs on sqlite-nio's `NIOThreadPool`, never on an event loop. Callers
/// hold ``AsyncSerialLock`` for a whole unit of work, so transactions never interleave.
final class SQLiteExecutor: Sendable {
    let connection: SQLiteConnection
    let path: String
    let logger: Logger
    private let lock = AsyncSerialLock()
    private let closed = NIOLockedValueBox(false)

    init(connection: SQLiteConnection, path: String, logger: Logger) {
        self.connection = connection
        self.path = path
        self.logger = logger
    }

    /// Runs `body` with exclusive use of the connection. Any SQLite failure becomes
    /// ``MessageStoreError/unavailable(_:)``, which the API answers with 503.
    func withConnection<T: Sendable>(_ body: (SQLiteConnection) async throws -> T) async throws -> T {
        try await self.lock.withLock {
            guard !self.closed.withLockedValue({ $0 }) else {
                throw MessageStoreError.unavailable("the SQLite store is closed")
            }
            do {
                return try await body(self.connection)
            } catch let error as SQLiteError {
                self.logger.debug("sqlite call failed", metadata: ["sqlite.error": "\(error)"])
                throw MessageStoreError.unavailable("SQLite: \(error)")
            }
        }
    }

    /// Runs `body` inside `BEGIN IMMEDIATE` … `COMMIT`, rolling back if it throws.
    ///
    /// IMMEDIATE takes the write lock at the start, so a second process on the same file
    /// waits (up to the busy timeout) at BEGIN rather than failing halfway through. Reads
    /// pass `readOnly` for a plain (deferred) transaction: one consistent snapshot without
    /// the write lock.
    func transaction<T: Sendable>(
        readOnly: Bool = false,
        _ body: (SQLiteConnection) async throws -> T
    ) async throws -> T {
        try await self.withConnection { connection in
            _ = try await connection.query(readOnly ? "BEGIN" : "BEGIN IMMEDIATE")
            do {
                let result = try await body(connection)
                _ = try await connection.query("COMMIT")
                return result
            } catch {
                do {
                    _ = try await connection.query("ROLLBACK")
                } catch let rollbackError {
                    self.logger.debug("rollback failed", metadata: ["sqlite.error": "\(rollbackError)"])
                }
                throw error
            }
        }
    }

    /// Closes the connection once; later calls do nothing.
    func close() async throws {
        try await self.lock.withLock {
            let wasClosed = self.closed.withLockedValue { closed in
                defer { closed = true }
                return closed
            }
            guard !wasClosed else { return }
            try await self.connection.close()
        }
    }
}
