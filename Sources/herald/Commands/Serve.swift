import ArgumentParser
import HeraldAPI
import HeraldCore
import HeraldGateway
import HeraldSQLite
import Logging
import Metrics
import NIOPosix
import Prometheus
import ServiceLifecycle
import UnixSignals

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// `herald serve`: run a complete node on an embedded SQLite file.
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
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))

        let store: SQLiteStore
        do {
            store = try await SQLiteStore.open(directory: settings.dataDirectory, logger: logger)
        } catch {
            throw CLIError("cannot open the data directory \(settings.dataDirectory): \(error)")
        }
        do {
            try await self.serve(settings: settings, store: store, registry: registry, logger: logger)
        } catch {
            try? await store.close()
            throw error
        }
        try await store.close()
    }

    private func serve(
        settings: ServeSettings, store: SQLiteStore, registry: PrometheusCollectorRegistry, logger: Logger
    ) async throws {
        let admin = try AdminKey.loadOrCreate(dataDirectory: settings.dataDirectory)
        if admin.generated {
            print("herald: generated an admin key (shown once, kept in \(settings.dataDirectory)/\(AdminKey.fileName)):")
            print("  \(admin.key)")
        }

        let apps = AppRegistry()
        try await apps.load(from: store.catalog)
        let replay = LiveOnlyReplay()
        for app in try await store.catalog.list() {
            replay.noteBroadcast(app: app.id, seq: try await store.messages.lastBroadcastSequence(app: app.id))
        }
        let directory = LocalSessionDirectory()
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
                drainTimeout: .milliseconds(Int64(settings.drainTimeout * 1000))
            ),
            eventLoopGroup: MultiThreadedEventLoopGroup.singleton,
            apps: apps,
            directory: directory,
            replay: replay,
            logger: logger
        )
        let api = APIService(
            settings: settings,
            gateway: gateway,
            dependencies: HeraldAPIDependencies(
                adminKey: admin.key,
                catalog: store.catalog,
                apps: apps,
                store: store.messages,
                delivery: gateway,
                directory: directory,
                replay: replay,
                metrics: registry,
                isReady: { true }
            ),
            logger: logger
        )
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: [
                    .init(service: gateway),
                    .init(service: api),
                ],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger
            )
        )
        try await group.run()
        logger.info("herald stopped")
    }
}
