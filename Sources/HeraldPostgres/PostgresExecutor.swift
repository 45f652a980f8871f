import HeraldCore
import Logging
import NIOConcurrencyHelpers
import NIOCore
import PostgresNIO

/// Runs units of work on ``PostgresStore``'s connection pool, each within a deadline.
///
/// postgres-nio's pool queues a lease while it cannot connect (for up to a minute before its
/// circuit breaker opens), and a query on a connection whose peer went silent waits for TCP.
/// Herald must answer 503 quickly instead, so every call here is bounded twice: waiting for a
/// connection by `leaseTimeout`, and the whole call by `callTimeout`, past which the leased
/// connection is closed (which fails whatever it was running). Every failure of the database
/// becomes ``MessageStoreError/unavailable(_:)``.
final class PostgresExecutor: Sendable {
    let client: PostgresClient
    let logger: Logger
    let leaseTimeout: Duration
    let callTimeout: Duration
    let poolStart = PostgresPoolStart()

    init(client: PostgresClient, logger: Logger, leaseTimeout: Duration, callTimeout: Duration) {
        self.client = client
        self.logger = logger
        self.leaseTimeout = leaseTimeout
        self.callTimeout = callTimeout
    }

    /// Runs `body` with a leased connection within the deadlines.
    ///
    /// A deadlock or serialisation failure, which PostgreSQL resolves by aborting one
    /// transaction, is retried from the start a few times: `body` must therefore be one
    /// statement or one transaction, so that nothing of a failed attempt was committed.
    func withConnection<T: Sendable>(
        callTimeout: Duration? = nil,
        _ body: @escaping @Sendable (PostgresConnection) async throws -> T
    ) async throws -> T {
        var attempt = 1
        while true {
            do {
                return try await self.once(callTimeout: callTimeout, body)
            } catch let conflict as TransientConflict {
                guard attempt < 4 else {
                    throw MessageStoreError.unavailable(
                        "PostgreSQL aborted the transaction \(attempt) times (\(conflict.sqlState))")
                }
                self.logger.debug(
                    "transaction retried",
                    metadata: ["postgres.sqlstate": "\(conflict.sqlState)", "postgres.attempt": "\(attempt)"]
                )
                attempt += 1
            }
        }
    }

    /// Runs `body` in a transaction (`BEGIN` … `COMMIT`, rolled back if it throws), retried
    /// like ``withConnection(callTimeout:_:)``.
    func transaction<T: Sendable>(
        callTimeout: Duration? = nil,
        _ body: @escaping @Sendable (PostgresConnection) async throws -> T
    ) async throws -> T {
        try await self.withConnection(callTimeout: callTimeout) { connection in
            try await self.run(connection, "BEGIN")
            do {
                let value = try await body(connection)
                try await self.run(connection, "COMMIT")
                return value
            } catch {
                do {
                    try await self.run(connection, "ROLLBACK")
                } catch let rollbackError {
                    // The connection is in an unknown state: do not give it back to the pool.
                    self.logger.debug("rollback failed", metadata: ["postgres.error": "\(rollbackError)"])
                    connection.closeAbruptly()
                }
                throw error
            }
        }
    }

    /// One attempt of ``withConnection(callTimeout:_:)``.
    private func once<T: Sendable>(
        callTimeout: Duration?,
        _ body: @escaping @Sendable (PostgresConnection) async throws -> T
    ) async throws -> T {
        let callTimeout = max(callTimeout ?? self.callTimeout, self.leaseTimeout)
        let call = CallState()
        do {
            try await self.poolStart.wait(upTo: self.leaseTimeout)
            return try await withThrowingTaskGroup(of: Outcome<T>.self) { group in
                group.addTask {
                    let value = try await self.client.withConnection { connection in
                        guard call.leased(connection) else { throw DeadlinePassed() }
                        defer { call.finished() }
                        return try await body(connection)
                    }
                    return .value(value)
                }
                group.addTask {
                    try await Task.sleep(for: self.leaseTimeout)
                    if call.isLeasing { return .timedOut(leasing: true) }
                    try await Task.sleep(for: callTimeout - self.leaseTimeout)
                    return .timedOut(leasing: false)
                }
                guard let first = try await group.next() else { throw DeadlinePassed() }
                switch first {
                case .value(let value):
                    group.cancelAll()
                    return value
                case .timedOut(let leasing):
                    // Cancelling ends a lease still queued; closing the connection fails a query
                    // in flight. Either way the body's task ends promptly and the group can return.
                    call.expire()?.closeAbruptly()
                    group.cancelAll()
                    throw MessageStoreError.unavailable(
                        leasing
                            ? "no connection to PostgreSQL within \(self.leaseTimeout)"
                            : "PostgreSQL did not answer within \(callTimeout)"
                    )
                }
            }
        } catch {
            throw self.storeError(error)
        }
    }

    /// The server-side `statement_timeout` and `lock_timeout` for calls bounded by
    /// `callTimeout`: a fifth shorter, so that PostgreSQL ends a stuck statement and answers
    /// before the executor gives up on the call. Closing a connection whose query is still
    /// running on a live server could leave that query's caller waiting for good (seen when
    /// both deadlines were equal).
    static func serverTimeout(for callTimeout: Duration) -> Int64 {
        max(1, callTimeout.wholeMilliseconds * 4 / 5)
    }

    /// Runs a statement and drains its rows.
    ///
    /// Never on a closed connection: postgres-nio writes the query to the channel without a
    /// write promise, so on a closed channel its answer never comes and the caller waits for
    /// good. That is what hung the test suite: a call's deadline closed the connection under
    /// a statement, the statement failed, and the transaction's `ROLLBACK` then went to the
    /// closed connection.
    @discardableResult
    func run(_ connection: PostgresConnection, _ query: PostgresQuery) async throws -> [PostgresRow] {
        guard !connection.isClosed else { throw ConnectionClosed() }
        return try await connection.query(query, logger: self.logger).collect()
    }

    /// What the API should see for `error`: the store's own errors as they are, a deadlock
    /// as ``TransientConflict`` (retried by ``withConnection(callTimeout:_:)``), anything else
    /// from the database or the pool as ``MessageStoreError/unavailable(_:)``.
    func storeError(_ error: any Error) -> any Error {
        switch error {
        case is MessageStoreError, is AppCatalogError, is PostgresStoreError, is TransientConflict:
            return error
        case let error as PSQLError:
            if let state = error.serverInfo?[.sqlState], TransientConflict.sqlStates.contains(state) {
                return TransientConflict(sqlState: state)
            }
            self.logger.debug("postgres call failed", metadata: ["postgres.error": "\(String(reflecting: error))"])
            return MessageStoreError.unavailable(Self.describe(error))
        case is DeadlinePassed:
            return MessageStoreError.unavailable("the PostgreSQL call passed its deadline")
        default:
            self.logger.debug("postgres call failed", metadata: ["postgres.error": "\(String(reflecting: error))"])
            return MessageStoreError.unavailable("PostgreSQL: \(error)")
        }
    }

    /// A short reason for an operator: what failed, without the query's bound values.
    static func describe(_ error: PSQLError) -> String {
        if let message = error.serverInfo?[.message] {
            let state = error.serverInfo?[.sqlState].map { " (\($0))" } ?? ""
            return "PostgreSQL: \(message)\(state)"
        }
        if let underlying = error.underlying {
            return "PostgreSQL: \(error.code): \(underlying)"
        }
        return "PostgreSQL: \(error.code)"
    }
}

/// A deadlock (40P01) or serialisation failure (40001): the transaction may simply be run again.
struct TransientConflict: Error, Sendable {
    static let sqlStates: Set<String> = ["40P01", "40001"]
    var sqlState: String
}

private struct DeadlinePassed: Error {}

/// A statement was not sent because its connection had closed.
private struct ConnectionClosed: Error, CustomStringConvertible {
    var description: String { "the connection to PostgreSQL was closed" }
}

private enum Outcome<T: Sendable>: Sendable {
    case value(T)
    case timedOut(leasing: Bool)
}

/// Where one call is: waiting for a connection, running on one, or past its deadline.
private final class CallState: Sendable {
    private enum Phase {
        case leasing
        case running(PostgresConnection)
        case finished
        case expired
    }

    private let phase = NIOLockedValueBox(Phase.leasing)

    var isLeasing: Bool {
        self.phase.withLockedValue { phase in
            if case .leasing = phase { return true }
            return false
        }
    }

    /// Records the leased connection; false when the deadline passed first.
    func leased(_ connection: PostgresConnection) -> Bool {
        self.phase.withLockedValue { phase in
            guard case .leasing = phase else { return false }
            phase = .running(connection)
            return true
        }
    }

    func finished() {
        self.phase.withLockedValue { phase in
            if case .running = phase { phase = .finished }
        }
    }

    /// Marks the deadline passed and returns the connection still running, if any.
    func expire() -> PostgresConnection? {
        self.phase.withLockedValue { phase in
            defer { phase = .expired }
            if case .running(let connection) = phase { return connection }
            return nil
        }
    }
}

extension PostgresConnection {
    /// Closes the channel without waiting: queries in flight fail at once and the pool drops
    /// the connection.
    func closeAbruptly() {
        let closed: EventLoopFuture<Void> = self.close()
        closed.whenComplete { _ in }
    }
}
