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

    /// Answers `request` on `route`; the exhaustive switch keeps every ``APIRoute`` handled.
    func respond(_ route: APIRoute, request: Request, context: some RequestContext) async throws -> Response {
        switch route {
        case .createApp: try await self.createApp(request)
        case .listApps: try await self.listApps(request)
        case .createToken: try await self.createToken(request, context: context)
        case .sendMessages: try await self.sendMessages(request, context: context)
        case .sendBatch: try await self.sendBatch(request, context: context)
        case .broadcast: try await self.broadcast(request, context: context)
        case .publishTopic: try await self.publishTopic(request, context: context)
        case .userStatus: try await self.userStatus(request, context: context)
        case .kickSessions: try await self.kickSessions(request, context: context)
        case .appStats: try await self.appStats(request, context: context)
        case .deadLetters: try await self.deadLetters(request, context: context)
        case .dispatch: try await self.dispatch(request)
        case .nodeStats: try self.nodeStats(request)
        case .health: JSONResponse.make(.ok, StatusResponse(status: "ok"))
        case .readiness: self.readiness()
        case .metrics: self.metricsText()
        case .openAPI: try self.openAPI()
        }
    }

    // MARK: Authentication

    /// The credential of `Authorization: Bearer <credential>`.
    func bearerCredential(_ request: Request) -> Substring? {
        guard let header = request.headers[.authorization] else { return nil }
        let parts = header.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { return nil }
        return parts[1]
    }

    func requireAdmin(_ request: Request) throws {
        guard let credential = self.bearerCredential(request) else {
            throw APIError.unauthorized("admin endpoints need Authorization: Bearer <admin key>")
        }
        guard ConstantTime.equals(credential, self.dependencies.adminKey) else {
            throw APIError.unauthorized("the admin key is wrong")
        }
    }

    /// The app named in the path, after checking the request carries its secret.
    func authorizedApp(_ request: Request, context: some RequestContext) async throws -> App {
        let credential = self.bearerCredential(request)
        guard let credential else {
            throw APIError.unauthorized("app endpoints need Authorization: Bearer <app secret>")
        }
        let app = try await self.app(named: try self.pathParameter("app", context: context))
        guard ConstantTime.equals(credential, app.secret) else {
            throw APIError.unauthorized("the app secret is wrong")
        }
        return app
    }

    /// Looks an app up in the registry, then in the catalog (another node may have made it).
    func app(named id: String) async throws -> App {
        guard App.isValidID(id) else { throw APIError.unknownApp(id) }
        if let app = self.dependencies.apps.app(id: id) { return app }
        guard let app = try await self.storeCall("look up app", { try await self.dependencies.catalog.app(id: id) })
        else { throw APIError.unknownApp(id) }
        self.dependencies.apps.upsert(app)
        return app
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
