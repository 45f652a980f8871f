import ArgumentParser
import HeraldAPI
import HeraldCommandLine
import HeraldCore
import HeraldGateway
import HeraldPostgres
import HeraldSQLite
import Logging
import Metrics
import NIOCore
import NIOPosix
import Prometheus
import ServiceLifecycle
import UnixSignals

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// `herald serve`: run a complete node on an embedded SQLite file (or PostgreSQL).
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a Herald node: client gateway (TCP and WebSocket) and HTTP API."
    )

    @OptionGroup var options: ServeOptions

    func run() async throws {
        let settings = try self.options.resolve()
        let level = settings.loggerLevel
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "herald")
        let descriptors = DescriptorLimit.current
        if let shortfall = DescriptorLimit.shortfall(maxConnections: settings.maxConnections, limit: descriptors) {
            logger.warning("\(shortfall)")
        } else if let descriptors {
            logger.info(
                "Client connections are capped at \(settings.maxConnections); the open-file limit is \(descriptors)."
            )
        }
        // Certificates that do not load stop the start before anything is opened.
        let tls = try ListenerTLS(settings: settings)
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))

        // The data directory and its secrets are the owner's alone, from their creation on.
        // On PostgreSQL it holds only the admin key, so it is made only if the key goes there.
        let keyGiven = settings.adminKeyFile != nil || Environment.string("HERALD_ADMIN_KEY") != nil
        if !settings.usesPostgres || !keyGiven {
            try DataDirectory.prepare(settings.dataDirectory, files: settings.usesPostgres ? [] : [SQLiteStore.fileName])
        }
        // One process per SQLite data directory: two would each keep their own in-memory
        // view (sequences, cursors) of one database file.
        let lock = settings.usesPostgres ? nil : try DataDirectoryLock(directory: settings.dataDirectory)
        defer { lock?.release() }
        let privateFiles = [AdminKey.fileName] + (settings.usesPostgres ? [] : StoreBackend.sqliteFiles)
        let admin = try AdminKey.loadOrCreate(dataDirectory: settings.dataDirectory, keyFile: settings.adminKeyFile)
        try DataDirectory.checkPrivate(settings.dataDirectory, files: privateFiles)
        if admin.generated {
            print("herald: generated an admin key, kept in \(DataDirectory.path(AdminKey.fileName, in: settings.dataDirectory))")
        }

        let backend = try await StoreBackend.open(settings: settings, logger: logger)
        do {
            try await withThrowingDiscardingTaskGroup { group in
                // The store's own services (PostgreSQL's pool) run under everything else and
                // stop only once the node has drained.
                for service in backend.services {
                    group.addTask { try await service.run() }
                }
                try await backend.prepare()
                try await self.serve(
                    settings: settings, tls: tls, adminKey: admin.key, backend: backend, registry: registry,
                    logger: logger)
                group.cancelAll()
            }
        } catch {
            await backend.close()
            throw error
        }
        await backend.close()
    }

    private func serve(
        settings: ServeSettings, tls: ListenerTLS, adminKey: String, backend: StoreBackend,
        registry: PrometheusCollectorRegistry, logger: Logger
    ) async throws {
        let apps = AppRegistry()
        do {
            try await apps.load(from: backend.catalog)
        } catch {
            throw CLIError("cannot load the apps from the \(backend.name) store: \(error)")
        }
        let acknowledgements = AcknowledgementWriter(store: backend.messages, logger: logger)
        let sweeper = StoreSweeper(
            store: backend.messages,
            interval: .milliseconds(Int64(settings.sweepInterval * 1000)),
            logger: logger
        )
        let replay = StoreReplay(
            store: backend.messages,
            acknowledgements: acknowledgements,
            page: InboxPage(rows: settings.replayReadRows, bytes: settings.replayReadBytes)
        )
        // The gateway's loops: NIO's shared group (one per core) unless a count is set.
        let loops: MultiThreadedEventLoopGroup = settings.eventLoops.map { MultiThreadedEventLoopGroup(numberOfThreads: $0) }
            ?? MultiThreadedEventLoopGroup.singleton
        defer {
            if settings.eventLoops != nil { loops.shutdownGracefully { _ in } }
        }
        await MallocArena.reserve(onEveryLoopOf: loops)
        let gateway = Gateway(
            configuration: GatewayConfiguration(
                host: settings.host,
                tcpPort: settings.tcpPort,
                webSocketPort: settings.webSocketPort,
                nodeID: settings.nodeID,
                maxFrameLength: settings.maxFrame,
                heartbeat: settings.heartbeat,
                authTimeout: .milliseconds(Int64(settings.authTimeout * 1000)),
                maxSessionsPerConnection: settings.maxSessions,
                maxConnections: settings.maxConnections,
                maxOutboundBytes: settings.maxOutboundBytes,
                drainTimeout: .milliseconds(Int64(settings.drainTimeout * 1000)),
                maxFrameLengthBeforeAuth: settings.maxFrameBeforeAuth,
                maxAuthAttemptsPerConnection: settings.maxAuthPerConnection,
                maxConnectionsPerAddress: settings.maxConnectionsPerAddress,
                maxAcceptsPerSecond: settings.maxAcceptsPerSecond,
                tcpTLS: tls.tcp,
                webSocketTLS: tls.webSocket
            ),
            eventLoopGroup: loops,
            apps: apps,
            replay: replay,
            acknowledgements: acknowledgements,
            logger: logger
        )
        let api = APIService(
            settings: settings,
            gateway: gateway,
            tls: tls.api,
            dependencies: HeraldAPIDependencies(
                adminKey: adminKey,
                catalog: backend.catalog,
                apps: apps,
                store: backend.messages,
                delivery: gateway,
                directory: gateway,
                metrics: registry,
                isReady: { true },
                nodeStats: {
                    let stats = gateway.stats
                    return NodeStats(
                        connections: stats.connections,
                        sessions: stats.sessions,
                        residentBytes: ResidentMemory.current(),
                        fanOutPasses: stats.fanOutPasses,
                        longestFanOutSliceSeconds: Double(stats.longestFanOutSliceNanoseconds) / 1e9
                    )
                }
            ),
            logger: logger
        )
        // Graceful shutdown runs in reverse: the API stops, the gateway drains, the sweeper
        // stops, and the cursor writer writes what the drained connections acknowledged.
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = [
            .init(service: acknowledgements),
            .init(service: sweeper),
            .init(service: gateway),
            .init(service: api),
        ]
        if tls.isEnabled {
            let signals = await UnixSignalsSequence(trapping: .sighup)
            services.append(.init(service: TLSReloadService(tls: tls, signals: signals, logger: logger)))
        }
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: services,
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger
            )
        )
        try await group.run()
        logger.info("herald stopped")
    }
}
