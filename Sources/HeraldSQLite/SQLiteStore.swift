import HeraldCore
import Logging
import NIOCore
import NIOPosix
import SQLiteNIO

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Herald's embedded database: `<data-dir>/herald.sqlite`, holding the ``AppCatalog`` and
/// the ``MessageStore`` of a single node.
///
/// Open it once at start with ``open(directory:threadPool:eventLoopGroup:logger:)``, hand
/// ``catalog`` and ``messages`` to the parts that need them, and ``close()`` it at shutdown.
///
/// Settings, and why:
/// - `journal_mode=WAL`: readers do not block the writer, and a commit is one append.
/// - `synchronous=FULL`: every commit is fsynced. A QoS 1 push answered as stored must
///   survive power loss, and sequences must only grow across it (a client would otherwise see
///   a sequence reused within one epoch); with WAL, `NORMAL` may lose the last commits.
///   Group commit spreads one fsync over many concurrent pushes.
/// - `busy_timeout=5000`: another process holding the file makes a call fail after 5 s with
///   ``MessageStoreError/unavailable(_:)`` instead of waiting forever (sqlite-nio's default).
/// - `foreign_keys=ON`: for the tables later migrations add.
public final class SQLiteStore: Sendable {
    /// The database file's name inside the data directory.
    public static let fileName = "herald.sqlite"
    /// How long a call waits for another process's lock before failing.
    public static let busyTimeoutMilliseconds = 5000

    /// The database file.
    public var path: String { self.executor.path }
    /// The apps, stored in this database.
    public let catalog: SQLiteAppCatalog
    /// The message store (inboxes, cursors, broadcast log, dead letters), stored in this database.
    public let messages: SQLiteMessageStore

    private let executor: SQLiteExecutor

    private init(executor: SQLiteExecutor, presence: InboxPresence) {
        self.executor = executor
        self.catalog = SQLiteAppCatalog(executor: executor)
        self.messages = SQLiteMessageStore(executor: executor, presence: presence)
    }

    /// Opens (creating if needed) `directory/herald.sqlite` and brings its schema up to date.
    ///
    /// - Throws: ``SQLiteStoreError`` when the directory or file cannot be created or written,
    ///   when the file is not an SQLite database, or when its schema is newer than this build's.
    public static func open(
        directory: String,
        threadPool: NIOThreadPool = .singleton,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger = Logger(label: "herald.sqlite")
    ) async throws -> SQLiteStore {
        try await Self.open(
            directory: directory,
            threadPool: threadPool,
            eventLoopGroup: eventLoopGroup,
            logger: logger,
            migrations: SQLiteMigrations.all
        )
    }

    /// Opens the store with the given migrations only: tests build older schemas with it.
    static func open(
        directory: String,
        threadPool: NIOThreadPool = .singleton,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger = Logger(label: "herald.sqlite"),
        migrations: [SQLiteMigration]
    ) async throws -> SQLiteStore {
        let path = try Self.prepareDirectory(directory)
        let connection: SQLiteConnection
        do {
            connection = try await SQLiteConnection.open(
                storage: .file(path: path),
                threadPool: threadPool,
                logger: logger,
                on: eventLoopGroup.any()
            )
        } catch {
            throw Self.openError(error, path: path)
        }
        let executor = SQLiteExecutor(connection: connection, path: path, logger: logger)
        let presence: InboxPresence
        do {
            try await Self.configure(connection, path: path)
            try await SQLiteMigrator(connection: connection, path: path, migrations: migrations).migrate()
            presence = try await Self.loadPresence(connection, migrations: migrations)
        } catch {
            try? await executor.close()
            throw Self.openError(error, path: path)
        }
        logger.debug("opened SQLite store", metadata: ["sqlite.path": "\(path)"])
        return SQLiteStore(executor: executor, presence: presence)
    }

    /// Every user with an inbox row (none before the migration that adds inboxes).
    private static func loadPresence(
        _ connection: SQLiteConnection,
        migrations: [SQLiteMigration]
    ) async throws -> InboxPresence {
        let hasInboxes = try await connection.query(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'inbox_state'"
        )
        guard !hasInboxes.isEmpty else { return InboxPresence([]) }
        let rows = try await connection.query("SELECT app, user_id FROM inbox_state")
        return InboxPresence(
            rows.compactMap { row in
                guard let app = row.column("app")?.string, let user = row.column("user_id")?.string else { return nil }
                return (app, user)
            }
        )
    }

    /// Closes the database. Calls made afterwards throw ``MessageStoreError/unavailable(_:)``.
    public func close() async throws {
        try await self.executor.close()
    }

    /// The schema version of the open database.
    public func schemaVersion() async throws -> Int {
        try await self.executor.withConnection { try await SQLiteMigrator.currentVersion(on: $0) }
    }

    /// The newest schema version this build knows.
    public static var latestSchemaVersion: Int { SQLiteMigrations.latestVersion }

    /// Runs one statement without binds and returns its rows as text: for tests that write
    /// or inspect tables directly.
    func execute(_ sql: String) async throws -> [[String: String]] {
        try await self.executor.withConnection { connection in
            try await connection.query(sql).map { row in
                Dictionary(
                    row.columns.map { ($0.name, $0.data.string ?? $0.data.description) },
                    uniquingKeysWith: { first, _ in first }
                )
            }
        }
    }

    private static func prepareDirectory(_ directory: String) throws -> String {
        let files = FileManager.default
        // Succeeds when the directory exists already; fails when the path is a file.
        do {
            try files.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw SQLiteStoreError.cannotOpen(path: directory, reason: "cannot create the data directory: \(error)")
        }
        guard files.isWritableFile(atPath: directory) else {
            throw SQLiteStoreError.cannotOpen(path: directory, reason: "the data directory is not writable")
        }
        let path = directory.hasSuffix("/") ? directory + Self.fileName : directory + "/" + Self.fileName
        if files.fileExists(atPath: path), !files.isWritableFile(atPath: path) {
            throw SQLiteStoreError.cannotOpen(path: path, reason: "the database file is not writable")
        }
        return path
    }

    private static func configure(_ connection: SQLiteConnection, path: String) async throws {
        // busy_timeout first: it replaces sqlite-nio's busy handler, which retries forever.
        _ = try await connection.query("PRAGMA busy_timeout = \(Self.busyTimeoutMilliseconds)")
        // The first statement that reads the file: a non-database fails here with NOTADB.
        let mode = try await connection.query("PRAGMA journal_mode = WAL")
        guard mode.first?.column("journal_mode")?.string?.lowercased() == "wal" else {
            throw SQLiteStoreError.cannotOpen(path: path, reason: "cannot switch the journal to WAL mode")
        }
        _ = try await connection.query("PRAGMA synchronous = FULL")
        _ = try await connection.query("PRAGMA foreign_keys = ON")
    }

    private static func openError(_ error: any Error, path: String) -> SQLiteStoreError {
        switch error {
        case let error as SQLiteStoreError:
            return error
        case let error as SQLiteError:
            switch error.reason {
            case .notADatabase, .corrupt, .corruptIndex, .corruptSequenceSchema, .corruptVirtualTable:
                return .notADatabase(path: path, reason: error.message)
            default:
                return .cannotOpen(path: path, reason: "\(error)")
            }
        case MessageStoreError.unavailable(let reason):
            return .cannotOpen(path: path, reason: reason)
        default:
            return .cannotOpen(path: path, reason: "\(error)")
        }
    }
}
