import HeraldAPI
import HeraldGateway
import HeraldTLS
import Logging
import NIOCore
import NIOPosix
import NIOConcurrencyHelpers
import ServiceLifecycle

import Foundation

/// Runs the HTTP API once the gateway (if the node runs one) has bound its ports, so that
/// `/v1/dispatch` hands out the real addresses, then prints the ready line.
struct APIService: Service {
    var settings: ServeSettings
    var gateway: Gateway
    /// The API's TLS context; nil serves plain HTTP.
    var tls: ServerTLSContext?
    var dependencies: HeraldAPIDependencies
    var logger: Logger

    func run() async throws {
        let bound = self.settings.runsGateway ? try await self.gateway.waitUntilBound() : nil
        let ready = NIOLockedValueBox(false)
        var dependencies = self.dependencies
        dependencies.isReady = { ready.withLockedValue { $0 } }
        let configuration = APIConfiguration(
            host: self.settings.apiHost,
            port: self.settings.apiPort,
            nodeID: self.settings.nodeID,
            maxRequestBodyBytes: self.settings.maxBody,
            maxFrameLength: self.settings.maxFrame,
            dispatchEndpoints: bound.map {
                let endpoints = self.settings.clientEndpoints($0)
                return [DispatchEndpoint(node: self.settings.nodeID, tcp: endpoints.tcp, ws: endpoints.webSocket)]
            } ?? [],
            reconnect: ReconnectPolicy(baseMs: 500, maxMs: 30_000, jitter: 1.0),
            idleTimeout: .milliseconds(Int64(self.settings.apiIdleTimeout * 1000)),
            headTimeout: .milliseconds(Int64(self.settings.apiHeadTimeout * 1000)),
            maxConnections: self.settings.maxAPIConnections,
            maxHeaderBytes: self.settings.apiMaxHeaderBytes,
            maxHeaderCount: self.settings.apiMaxHeaders,
            tls: self.tls
        )
        let settings = self.settings
        let logger = self.logger
        // The API has a loop of its own: a gateway loop can spend a few hundred milliseconds
        // in one fan-out pass over its connections, and a request read or answered there
        // would wait for it (each request touches the loop twice).
        let loop = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        defer { loop.shutdownGracefully { _ in } }
        let application = APIServer.makeApplication(
            configuration: configuration,
            dependencies: dependencies,
            eventLoopGroup: loop,
            logger: logger,
            onServerRunning: { port in
                ready.withLockedValue { $0 = true }
                print(settings.readyLine(bound: bound, apiPort: port))
                fflush(nil)
                logger.info(
                    "herald is serving",
                    metadata: [
                        "node": "\(settings.nodeID)", "tcp": "\(bound?.tcpPort ?? 0)",
                        "ws": "\(bound?.webSocketPort ?? 0)", "api": "\(port)", "data": "\(settings.dataDirectory)",
                    ]
                )
            }
        )
        try await withTaskCancellationOrGracefulShutdownHandler {
            try await application.run()
        } onCancelOrGracefulShutdown: {
            ready.withLockedValue { $0 = false }
        }
    }
}
