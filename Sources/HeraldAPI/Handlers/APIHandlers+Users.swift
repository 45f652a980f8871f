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

    /// Public: clients ask where to connect before they hold a token. The answer does not
    /// depend on whether the app exists, so that anyone asking cannot probe app ids; the
    /// gateway checks the app when the client authenticates.
    func dispatch(_ request: Request) async throws -> Response {
        let query = request.uri.queryParameters
        guard let appID = query["app"].map(String.init), App.isValidID(appID) else {
            throw APIError.badRequest(
                "query parameter app is required: 1 to 64 characters of A-Z a-z 0-9 - _ .", code: "invalid_app")
        }
        let user = query["user"].map(String.init)
        if let user { try self.validateIdentifier(user, field: "user") }
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
