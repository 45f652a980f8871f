import HeraldCore
import Hummingbird

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

extension APIHandlers {
    /// Shortest secret accepted when the caller chooses one: HS256 keys should not be guessable.
    static let minimumSecretLength = 16
    static let maximumSecretLength = 512
    static let maximumWebhookLength = 2048

    func createApp(_ request: Request) async throws -> Response {
        let body = try await RequestDecoding.decode(
            CreateAppRequest.self,
            from: request,
            limit: self.configuration.maxRequestBodyBytes
        )
        guard let id = body.id else { throw APIError.badRequest("missing field \"id\"", code: "invalid_id") }
        guard App.isValidID(id) else {
            throw APIError.badRequest("id must be 1 to 64 characters of A-Z a-z 0-9 - _ .", code: "invalid_id")
        }
        if let secret = body.secret {
            guard (Self.minimumSecretLength...Self.maximumSecretLength).contains(secret.utf8.count) else {
                throw APIError.badRequest(
                    "secret must be \(Self.minimumSecretLength) to \(Self.maximumSecretLength) bytes",
                    code: "invalid_secret"
                )
            }
        }
        if let webhook = body.webhook {
            let lowered = webhook.lowercased()
            guard lowered.hasPrefix("http://") || lowered.hasPrefix("https://"),
                webhook.utf8.count <= Self.maximumWebhookLength
            else {
                throw APIError.badRequest(
                    "webhook must be an http or https URL of at most \(Self.maximumWebhookLength) bytes",
                    code: "invalid_webhook"
                )
            }
        }
        let policy = try body.policy?.get() ?? AppPolicy()
        if let violation = policy.violation { throw APIError.invalidPolicy(violation) }
        let app = App(
            id: id,
            secret: body.secret ?? SecretGenerator.make(),
            webhook: body.webhook,
            epoch: SecretGenerator.make(byteCount: 8),
            createdAt: Date(),
            policy: policy
        )
        do {
            try await self.storeCall("create app") { try await self.dependencies.catalog.create(app) }
        } catch AppCatalogError.alreadyExists {
            throw APIError(.conflict, "app_exists", "app \"\(id)\" already exists")
        }
        self.dependencies.apps.upsert(app)
        await self.dependencies.appChanged(app.id)
        return JSONResponse.make(.created, AppResponse(app))
    }

    func listApps() async throws -> Response {
        let apps = try await self.storeCall("list apps") { try await self.dependencies.catalog.list() }
        return JSONResponse.make(.ok, AppListResponse(apps: apps.map(AppResponse.init)))
    }

    func createToken(_ request: Request, app: App) async throws -> Response {
        let body = try await RequestDecoding.decode(
            TokenRequest.self,
            from: request,
            limit: self.configuration.maxRequestBodyBytes
        )
        guard let user = body.user else { throw APIError.badRequest("missing field \"user\"", code: "invalid_user") }
        try self.validateIdentifier(user, field: "user")
        if let device = body.device { try self.validateIdentifier(device, field: "device") }
        let maxTTL = self.configuration.maxTokenTTL.components.seconds
        let ttl = Int64(body.ttl ?? Int(self.configuration.defaultTokenTTL.components.seconds))
        guard ttl >= 1, ttl <= maxTTL else {
            throw APIError.badRequest("ttl must be 1 to \(maxTTL) seconds", code: "invalid_ttl")
        }
        if let topics = body.topics {
            for topic in topics {
                let name = topic.hasSuffix("*") ? String(topic.dropLast()) : topic
                guard topic == "*" || Topic.isValidName(name) else {
                    throw APIError.badRequest(
                        "topics must be topic names or prefixes ending in *: \"\(Printable.clip(topic))\" is not",
                        code: "invalid_topics"
                    )
                }
            }
        }
        let expiresAt = Int64(Date().timeIntervalSince1970) + ttl
        if let limit = app.policy.maxTokenLifetime, ttl > limit {
            throw APIError.badRequest("ttl must not exceed the app's maxTokenLifetime of \(limit) seconds", code: "invalid_ttl")
        }
        let claims = TokenClaims(
            app: app.id, sub: user, dev: body.device, exp: expiresAt, topics: body.topics,
            iat: expiresAt - ttl)
        guard app.policy.secretSignedTokens || !app.signingKeys.isEmpty else {
            throw APIError(
                .conflict, "no_signing_key",
                "app \"\(app.id)\" accepts only tokens signed with a signing key, and has none: add one first")
        }
        // The newest signing key signs, once the app has one; else the API secret does.
        let token = app.signingKeys.last.map { TokenSigner.sign(claims, key: $0) } ?? TokenSigner.sign(claims, secret: app.secret)
        return JSONResponse.make(.ok, TokenResponse(token: token, expiresAt: expiresAt))
    }
}
