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
        // In cluster mode the node's tasks run on NIO's shared loops, beside its Redis
        // connections; a single node keeps them on Swift's pool, which measured faster there.
        if let count = settings.taskLoops { TaskLoops.size(count) }
        let tasksOnLoops = settings.redis == nil || TaskLoops.install()
        let level = settings.loggerLevel
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "herald")
        if !tasksOnLoops {
            logger.warning("Swift tasks run on Swift's own threads: NIO's loops could not be installed as their executor.")
        }
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
        var metricsFactory = PrometheusMetricsFactory(registry: registry)
        metricsFactory.durationHistogramBuckets = Gateway.timerHistogramBuckets
        MetricsSystem.bootstrap(metricsFactory)

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
        // Closing SQLite checkpoints its write-ahead log (an fsync): logged on both sides so a
        // slow disk at shutdown shows in the log.
        logger.info("herald drained; closing the \(backend.name) store")
        await backend.close()
        logger.info("herald stopped")
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
        // The gateway's loops are a group of their own, never NIO's shared group: the stores
        // answer on the shared group (each SQLite statement completes on one of its loops, and
        // PostgreSQL's connections live there), and on a loop in the middle of a fan-out pass
        // every statement of a broadcast's append would wait for a slice to end.
        let loops = MultiThreadedEventLoopGroup(numberOfThreads: settings.eventLoops ?? System.coreCount)
        defer { loops.shutdownGracefully { _ in } }
        await MallocArena.reserve(onEveryLoopOf: loops)
        let ports = try settings.redis.map { try ClusterPorts.open(url: $0, namespace: settings.redisNamespace, logger: logger) }
        if ports != nil, settings.nodeIDGenerated {
            print("herald: this cluster node's id is \(settings.nodeID) (made up at start; --node-id sets one)")
        }
        // One process per node id: the id is claimed before anything serves under it.
        let incarnation = NodeLease.makeIncarnation()
        if let ports {
            let claim = NodeIDClaim(
                registry: ports.registry,
                directory: ports.directory,
                lease: NodeLease(
                    node: settings.nodeID, roles: settings.roles, state: .draining, tcpEndpoint: nil,
                    webSocketEndpoint: nil, maxConnections: settings.maxConnections, connections: 0, sessions: 0,
                    cpu: 0, startedAt: Date(), incarnation: incarnation),
                leaseTTL: .milliseconds(Int64(settings.leaseTTL * 1000)),
                logger: logger)
            do {
                try await claim.run()
            } catch {
                await ports.close()
                throw error
            }
        }
        let observer = ports.map {
            ClusterObserver(node: settings.nodeID, directory: $0.directory, bus: $0.bus, logger: logger)
        }
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
            observer: observer,
            replay: replay,
            acknowledgements: acknowledgements,
            logger: logger
        )
        var dependencies = HeraldAPIDependencies(
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
        )
        // Graceful shutdown runs in reverse: the API stops, a cluster node's lease says
        // draining, the gateway drains (the cluster runtime still records its sessions
        // closing), the sweeper stops, and the cursor writer writes what the drained
        // connections acknowledged.
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = [
            .init(service: acknowledgements),
            .init(service: sweeper),
        ]
        var lease: ClusterLeaseService?
        if let ports, let observer {
            let liveNodes = LiveNodes()
            let delivery = ClusterDelivery(
                gateway: gateway, directory: ports.directory, bus: ports.bus, registry: ports.registry,
                liveNodes: liveNodes, logger: logger)
            dependencies.delivery = delivery
            dependencies.directory = delivery
            dependencies.dispatch = { user in
                Dispatcher().nodes(for: user, among: liveNodes.leases).compactMap { lease in
                    guard let tcp = lease.tcpEndpoint, let webSocket = lease.webSocketEndpoint else { return nil }
                    return DispatchEndpoint(node: lease.node, tcp: tcp, ws: webSocket)
                }
            }
            let node = settings.nodeID
            dependencies.appChanged = { app in
                do {
                    try await ports.bus.publish(BusMessage(origin: node, body: .appChanged(app: app)), to: .all)
                } catch {
                    logger.warning(
                        "The other nodes could not be told of a changed app; they pick it up on their next reload.",
                        metadata: ["app": "\(app)", "error": "\(error)"]
                    )
                }
            }
            let receiver = ClusterBusReceiver(
                gateway: gateway, bus: ports.bus, directory: ports.directory, catalog: backend.catalog, apps: apps,
                logger: logger)
            services.append(.init(service: ClusterNode(gateway: gateway, observer: observer, receiver: receiver)))
            lease = ClusterLeaseService(
                settings: settings, gateway: gateway, ports: ports, liveNodes: liveNodes, incarnation: incarnation,
                logger: logger)
        }
        if settings.runsGateway { services.append(.init(service: gateway)) }
        // A lease taken by another process stops the node as a graceful shutdown would.
        if let lease { services.append(.init(service: lease, failureTerminationBehavior: .gracefullyShutdownGroup)) }
        if settings.runsAPI {
            services.append(
                .init(
                    service: APIService(
                        settings: settings, gateway: gateway, tls: tls.api, dependencies: dependencies, logger: logger))
            )
        } else {
            services.append(.init(service: GatewayReadyService(settings: settings, gateway: gateway)))
        }
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
        do {
            try await group.run()
        } catch {
            await ports?.close()
            throw error
        }
        if let ports {
            do {
                try await ports.registry.withdraw(node: settings.nodeID, incarnation: incarnation)
            } catch {
                logger.warning("The node's lease could not be withdrawn; it lapses by itself.", metadata: ["error": "\(error)"])
            }
            await ports.close()
        }
    }
}
