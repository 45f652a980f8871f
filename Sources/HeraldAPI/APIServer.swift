import HeraldCore
import Hummingbird
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
    ) -> Application<RouterResponder<BasicRequestContext>> {
        Application(
            router: Self.makeRouter(configuration: configuration, dependencies: dependencies),
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

    /// The router with every ``APIRoute`` and the error and metrics middleware.
    static func makeRouter(
        configuration: APIConfiguration,
        dependencies: HeraldAPIDependencies
    ) -> Router<BasicRequestContext> {
        let metrics = APIMetrics(registry: dependencies.metrics)
        let handlers = APIHandlers(
            configuration: configuration,
            dependencies: dependencies,
            metrics: metrics,
            openAPIDocument: OpenAPIDocument.load()
        )
        let router = Router(context: BasicRequestContext.self)
        // Middleware applies to routes added after it, and to the not-found answer.
        router.add(middleware: RequestMetricsMiddleware(metrics: metrics))
        router.add(middleware: JSONErrorMiddleware())
        for route in APIRoute.allCases {
            router.on(RouterPath(route.path), method: route.method) { request, context in
                try await handlers.respond(route, request: request, context: context)
            }
        }
        return router
    }
}
