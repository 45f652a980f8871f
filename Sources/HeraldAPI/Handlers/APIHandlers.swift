import HTTPTypes
import HeraldCore
import Hummingbird
import NIOCore

/// The route handlers, sharing configuration, dependencies and counters.
struct APIHandlers: Sendable {
    let configuration: APIConfiguration
    let dependencies: HeraldAPIDependencies
    let metrics: APIMetrics
    let statistics = APIStatistics()
    /// Each app's broadcasts, stored and handed to the gateway one at a time, in order.
    let broadcastOrder = KeyedSerialQueue()
    /// When the router was made, for `uptimeSeconds` on `/v1/stats`.
    let startedAt = ContinuousClock.now
    /// `openapi.yaml`, loaded once; `nil` if the resource is missing from the build.
    let openAPIDocument: ByteBuffer?
    /// Failed authentications per source address, shared by every guard.
    let authFailures: AuthFailureLimiter

    init(
        configuration: APIConfiguration,
        dependencies: HeraldAPIDependencies,
        metrics: APIMetrics,
        openAPIDocument: ByteBuffer?
    ) {
        self.configuration = configuration
        self.dependencies = dependencies
        self.metrics = metrics
        self.openAPIDocument = openAPIDocument
        self.authFailures = AuthFailureLimiter(
            burst: configuration.authFailureBurst,
            refillInterval: configuration.authFailureRefillInterval,
            maxAddresses: configuration.authFailureMaxAddresses
        )
    }

    /// Answers a route anyone may call.
    func respond(to route: PublicRoute, request: Request, context: APIRequestContext) async throws -> Response {
        switch route {
        case .dispatch: try await self.dispatch(request)
        case .health: JSONResponse.make(.ok, StatusResponse(status: "ok"))
        case .readiness: self.readiness()
        case .metrics: try self.metricsText(request, context: context)
        case .openAPI: try self.openAPI()
        }
    }

    /// Answers an admin route, once ``AdminKeyMiddleware`` has checked the admin key.
    func respond(to route: AdminRoute, request: Request) async throws -> Response {
        switch route {
        case .createApp: try await self.createApp(request)
        case .listApps: try await self.listApps()
        case .nodeStats: self.nodeStats()
        }
    }

    /// Answers a route of `app`, which ``AppSecretMiddleware`` has authenticated.
    func respond(
        to route: AppRoute,
        app: App,
        request: Request,
        context: some RequestContext
    ) async throws -> Response {
        switch route {
        case .createToken: try await self.createToken(request, app: app)
        case .sendMessages: try await self.sendMessages(request, app: app)
        case .sendBatch: try await self.sendBatch(request, app: app)
        case .broadcast: try await self.broadcast(request, app: app)
        case .publishTopic: try await self.publishTopic(request, app: app, context: context)
        case .userStatus: try await self.userStatus(app: app, context: context)
        case .kickSessions: try await self.kickSessions(request, app: app, context: context)
        case .appStats: try await self.appStats(app: app)
        case .deadLetters: try await self.deadLetters(request, app: app)
        case .addSigningKey: try await self.addSigningKey(app: app)
        case .listSigningKeys: self.listSigningKeys(app: app)
        case .retireSigningKey: try await self.retireSigningKey(app: app, context: context)
        }
    }

    /// Looks an app up in the registry, which reloads from the catalog at most once per
    /// refresh interval (another node may have made it); an unknown id never reads the store.
    func app(named id: String) async throws -> App {
        guard let app = try await self.knownApp(named: id) else { throw APIError.unknownApp(id) }
        return app
    }

    /// ``app(named:)``, with nil for an id that names no app.
    func knownApp(named id: String) async throws -> App? {
        guard App.isValidID(id) else { return nil }
        let registry = self.dependencies.apps
        let catalog = self.dependencies.catalog
        return try await self.storeCall("look up app") { try await registry.lookup(id: id, in: catalog) }
    }

    /// A percent-decoded path parameter.
    func pathParameter(_ name: String, context: some RequestContext) throws -> String {
        guard let raw = context.parameters.get(name), let value = PercentDecoding.decode(raw) else {
            throw APIError.badRequest("path parameter \(name) is malformed", code: "invalid_\(name)")
        }
        return value
    }

    /// A user or device id: 1 to 256 bytes.
    func validateIdentifier(_ value: String, field: String) throws(APIError) {
        guard !value.isEmpty, value.utf8.count <= TokenClaims.maximumIdentifierLength else {
            throw APIError.badRequest(
                "\(field) must be 1 to \(TokenClaims.maximumIdentifierLength) bytes",
                code: "invalid_\(field)"
            )
        }
    }
}
