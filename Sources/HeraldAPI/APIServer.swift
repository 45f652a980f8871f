import HeraldCore
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle

/// Builds Herald's HTTP API (Hummingbird 2).
public enum APIServer {
    /// The API as a `Service` to run in the process's `ServiceGroup`.
    ///
    /// - Parameters:
    ///   - eventLoopGroup: the loops that serve HTTP connections.
    ///   - onServerRunning: called once the server listens, with the bound port (useful with port 0).
    public static func makeApplication(
        configuration: APIConfiguration,
        dependencies: HeraldAPIDependencies,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger = Logger(label: "herald.api"),
        onServerRunning: @escaping @Sendable (_ port: Int) async -> Void = { _ in }
    ) -> some Service {
        Self.makeHummingbirdApplication(
            configuration: configuration,
            dependencies: dependencies,
            eventLoopGroup: eventLoopGroup,
            logger: logger,
            onServerRunning: onServerRunning
        )
    }

    /// ``makeApplication(configuration:dependencies:eventLoopGroup:logger:onServerRunning:)``
    /// with its concrete type, which HummingbirdTesting drives.
    static func makeHummingbirdApplication(
        configuration: APIConfiguration,
        dependencies: HeraldAPIDependencies,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger = Logger(label: "herald.api"),
        onServerRunning: @escaping @Sendable (_ port: Int) async -> Void = { _ in }
    ) -> Application<RouterResponder<APIRequestContext>> {
        Application(
            router: Self.makeRouter(configuration: configuration, dependencies: dependencies),
            server: Self.makeServer(configuration: configuration),
            configuration: ApplicationConfiguration(
                address: .hostname(configuration.host, port: configuration.port),
                serverName: nil
            ),
            onServerRunning: { channel in
                await onServerRunning(channel.localAddress?.port ?? configuration.port)
            },
            eventLoopGroupProvider: .shared(eventLoopGroup),
            logger: logger
        )
    }

    /// HTTP/1 with the API's connection limits: idle timeout and header limits are
    /// Hummingbird's settings, the head deadline and the connection cap ``APIChildChannel``'s.
    static func makeServer(configuration: APIConfiguration) -> HTTPServerBuilder {
        let connections = APIConnectionCounter(limit: configuration.maxConnections)
        let http1 = HTTP1Channel.Configuration(
            idleTimeout: TimeAmount(configuration.idleTimeout),
            httpDecoderConfiguration: .init(
                maxHeaderFieldSize: configuration.maxHeaderBytes,
                maxHeaderListSize: configuration.maxHeaderBytes,
                maxHeaderFieldCount: configuration.maxHeaderCount
            )
        )
        return HTTPServerBuilder { responder in
            APIChildChannel(
                http1: HTTP1Channel(responder: responder, configuration: http1),
                connections: connections,
                headTimeout: TimeAmount(configuration.headTimeout),
                tls: configuration.tls
            )
        }
    }

    /// The router: the error and metrics middleware, then each group of routes behind its guard.
    static func makeRouter(
        configuration: APIConfiguration,
        dependencies: HeraldAPIDependencies
    ) -> Router<APIRequestContext> {
        let metrics = APIMetrics(registry: dependencies.metrics)
        let handlers = APIHandlers(
            configuration: configuration,
            dependencies: dependencies,
            metrics: metrics,
            openAPIDocument: OpenAPIDocument.load()
        )
        let router = Router(context: APIRequestContext.self)
        // Middleware applies to routes added after it, and to the not-found answer.
        router.add(middleware: RequestMetricsMiddleware(metrics: metrics))
        router.add(middleware: JSONErrorMiddleware())

        // A group's guard runs before every route added to it, so a route gets its check by
        // being a case of its group's enum.
        let open = router.group()
        for route in PublicRoute.allCases {
            open.on(RouterPath(route.path), method: route.method) { request, context in
                try await handlers.respond(to: route, request: request, context: context)
            }
        }
        let admin = router.group().add(middleware: AdminKeyMiddleware(adminKey: dependencies.adminKey, authFailures: handlers.authFailures))
        for route in AdminRoute.allCases {
            admin.on(RouterPath(route.path), method: route.method) { request, _ in
                try await handlers.respond(to: route, request: request)
            }
        }
        let apps = router.group(RouterPath(AppRoute.prefix)).add(middleware: AppSecretMiddleware(handlers: handlers))
        for route in AppRoute.allCases {
            apps.on(RouterPath(route.subpath), method: route.method) { request, context in
                try await handlers.respond(to: route, app: try context.requireApp(), request: request, context: context)
            }
        }
        return router
    }
}
