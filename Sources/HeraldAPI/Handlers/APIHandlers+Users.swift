import HeraldCore
import Hummingbird

extension APIHandlers {
    func userStatus(app: App, context: some RequestContext) async throws -> Response {
        let user = try self.pathParameter("user", context: context)
        try self.validateIdentifier(user, field: "user")
        let sessions = try await self.storeCall("session directory") {
            try await self.dependencies.directory.sessions(app: app.id, user: user)
        }
        let inboxSeq = try await self.storeCall("inbox sequence") {
            try await self.dependencies.store.lastInboxSequence(app: app.id, user: user)
        }
        return JSONResponse.make(
            .ok,
            UserStatusResponse(
                online: !sessions.isEmpty,
                sessions: sessions.map { .init(device: $0.device, node: $0.node, since: $0.since) },
                inboxSeq: inboxSeq
            )
        )
    }

    func kickSessions(_ request: Request, app: App, context: some RequestContext) async throws -> Response {
        let user = try self.pathParameter("user", context: context)
        try self.validateIdentifier(user, field: "user")
        let device = request.uri.queryParameters["device"].map(String.init)
        if let device { try self.validateIdentifier(device, field: "device") }
        let kicked = await self.dependencies.delivery.kick(app: app.id, user: user, device: device)
        return JSONResponse.make(.ok, KickResponse(kicked: kicked))
    }

    func appStats(app: App) async throws -> Response {
        let counts = try await self.storeCall("session directory") {
            try await self.dependencies.directory.counts(app: app.id)
        }
        let messages = self.statistics.counts(app: app.id)
        return JSONResponse.make(
            .ok,
            StatsResponse(
                sessions: counts.sessions,
                users: counts.users,
                messages: .init(accepted: messages.accepted, delivered: messages.delivered)
            )
        )
    }

    /// Public: clients ask where to connect before they hold a token.
    func dispatch(_ request: Request) async throws -> Response {
        let query = request.uri.queryParameters
        guard let appID = query["app"].map(String.init), !appID.isEmpty else {
            throw APIError.badRequest("query parameter app is required", code: "invalid_app")
        }
        let user = query["user"].map(String.init)
        if let user { try self.validateIdentifier(user, field: "user") }
        _ = try await self.app(named: appID)
        var endpoints = self.configuration.dispatchEndpoints
        if let dispatch = self.dependencies.dispatch {
            endpoints = dispatch(user)
            guard !endpoints.isEmpty else {
                throw APIError(.serviceUnavailable, "no_gateway", "no gateway node is ready; retry later")
            }
        }
        return JSONResponse.make(
            .ok,
            DispatchResponse(endpoints: endpoints, reconnect: self.configuration.reconnect)
        )
    }
}
