import HeraldCore
import Logging
import NIOCore
import PostgresNIO
import ServiceLifecycle

/// Herald's PostgreSQL database: the ``AppCatalog`` and the ``MessageStore`` of a cluster,
/// shared by every Herald process pointed at it.
///
/// Create it from a URL, ``run()`` it for as long as it is used (in the `ServiceGroup`, or a
/// task group: it runs postgres-nio's connection pool), ``migrate()`` once at start, then hand
/// ``catalog`` and ``messages`` to the parts that need them:
///
/// ```swift
/// let store = try PostgresStore(url: "postgres://herald:secret@db:5432/herald", logger: logger)
/// try await withThrowingDiscardingTaskGroup { group in
///     group.addTask { try await store.run() }
///     try await store.migrate()
///     // ... use store.catalog and store.messages ...
///     group.cancelAll()
/// }
/// ```
///
/// While PostgreSQL cannot be reached, calls fail within a few seconds with
/// ``MessageStoreError/unavailable(_:)`` (see ``Configuration/leaseTimeout`` and
/// ``Configuration/callTimeout``) and work again once it is back.
public final class PostgresStore: Service {
    /// The apps, stored in this database.
    public let catalog: PostgresAppCatalog
    /// Inboxes, broadcast log, dead letters and idempotency records, stored in this database.
    public let messages: PostgresMessageStore
    /// The settings the store was created with.
    public let configuration: Configuration

    private let client: PostgresClient
    private let executor: PostgresExecutor

    /// A store for the database at `url` (`postgres://user:password@host:port/database`).
    ///
    /// - Throws: ``PostgresStoreError/invalidURL(_:)``.
    public convenience init(
        url: String,
        eventLoopGroup: any EventLoopGroup = PostgresClient.defaultEventLoopGroup,
        logger: Logger = Logger(label: "herald.postgres")
    ) throws {
        try self.init(configuration: Configuration(url: url), eventLoopGroup: eventLoopGroup, logger: logger)
    }

    /// A store with its own connection pool, configured by `configuration`. Nothing connects
    /// until ``run()`` runs and a call needs a connection.
    public init(
        configuration: Configuration,
        eventLoopGroup: any EventLoopGroup = PostgresClient.defaultEventLoopGroup,
        logger: Logger = Logger(label: "herald.postgres")
    ) {
        var clientConfiguration = configuration.client
        clientConfiguration.options.connectTimeout = configuration.leaseTimeout
        // Server-side bounds as well as the executor's deadlines: closing a connection past
        // its deadline neither stops the server (a statement waiting for a lock goes on
        // waiting, holding what it holds) nor, with postgres-nio, always ends the query the
        // client awaits; a test saw a migration wait on a lock forever. A transaction whose
        // client vanished between statements is ended too.
        let serverTimeout = PostgresExecutor.serverTimeout(for: configuration.callTimeout)
        clientConfiguration.options.additionalStartupParameters.append(("lock_timeout", "\(serverTimeout)ms"))
        clientConfiguration.options.additionalStartupParameters.append(("statement_timeout", "\(serverTimeout)ms"))
        clientConfiguration.options.additionalStartupParameters.append(
            ("idle_in_transaction_session_timeout", "\(2 * configuration.callTimeout.wholeMilliseconds)ms")
        )
        if let schema = configuration.quotedSchema {
            // Any server setting may be given at connection start: every connection of the
            // pool then finds (and creates) Herald's tables in the schema.
            clientConfiguration.options.additionalStartupParameters.append(("search_path", schema))
        }
        self.configuration = configuration
        // postgres-nio reports each failed reconnect at info; a library logs below that (the
        // API reports the outage), unless the operator asked for debug detail.
        var backgroundLogger = logger
        if backgroundLogger.logLevel == .info { backgroundLogger.logLevel = .notice }
        self.client = PostgresClient(
            configuration: clientConfiguration,
            eventLoopGroup: eventLoopGroup,
            backgroundLogger: backgroundLogger
        )
        self.executor = PostgresExecutor(
            client: self.client,
            logger: logger,
            leaseTimeout: configuration.leaseTimeout,
            callTimeout: configuration.callTimeout
        )
        self.catalog = PostgresAppCatalog(executor: self.executor)
        self.messages = PostgresMessageStore(executor: self.executor, maxBatch: configuration.maxBatch)
    }

    /// Runs the connection pool until the task is cancelled or the service group shuts down.
    /// Call it once; calls to the store need it running.
    public func run() async throws {
        self.executor.poolStart.markStarted()
        await self.client.run()
    }

    /// Creates or upgrades the schema to this build's version (see ``PostgresMigrations``).
    /// Safe to call from several processes at once; does nothing when up to date.
    ///
    /// - Throws: ``PostgresStoreError/newerSchema(found:supported:)`` when the database was
    ///   migrated by a newer Herald, ``PostgresStoreError/migrationFailed(version:reason:)``,
    ///   or ``MessageStoreError/unavailable(_:)`` when PostgreSQL cannot be reached.
    public func migrate() async throws {
        let applied = try await PostgresMigrator(
            executor: self.executor,
            schema: self.configuration.quotedSchema,
            timeout: self.configuration.migrationTimeout
        ).migrate()
        if !applied.isEmpty {
            self.executor.logger.debug("migrated PostgreSQL schema", metadata: ["postgres.versions": "\(applied)"])
        }
    }

    /// The schema version of the database, 0 before the first migration.
    public func schemaVersion() async throws -> Int {
        try await self.executor.withConnection { connection in
            let exists = try await self.executor.run(
                connection,
                "SELECT to_regclass('herald_migrations') IS NOT NULL"
            ).first?.decode(Bool.self)
            guard exists == true else { return 0 }
            return try await PostgresMigrator.currentVersion(connection, executor: self.executor)
        }
    }

    /// The newest schema version this build knows.
    public static var latestSchemaVersion: Int { PostgresMigrations.latestVersion }
}
