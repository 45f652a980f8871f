import HeraldCore
import Hummingbird

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

extension APIHandlers {
    /// `POST /v1/apps/{app}/signing-keys`: a new token signing key, whose secret is shown
    /// this once. The token endpoint signs with the newest key from then on; tokens signed
    /// with older keys keep working until their key is retired.
    func addSigningKey(app: App) async throws -> Response {
        let key = SigningKey(id: "k" + SecretGenerator.make(byteCount: 6), secret: SecretGenerator.make(), createdAt: Date())
        let catalog = self.dependencies.catalog
        let updated: App?
        do {
            updated = try await self.storeCall("add a signing key") { try await catalog.addSigningKey(key, app: app.id) }
        } catch AppCatalogError.tooManySigningKeys {
            throw APIError(
                .conflict, "too_many_signing_keys",
                "app \"\(app.id)\" holds \(SigningKey.maximumPerApp) signing keys already; retire one first")
        }
        guard let updated else { throw APIError.unknownApp(app.id) }
        self.dependencies.apps.upsert(updated)
        await self.dependencies.appChanged(app.id)
        return JSONResponse.make(.created, SigningKeyResponse(key, withSecret: true))
    }

    /// `GET /v1/apps/{app}/signing-keys`: the keys' ids and ages, oldest first, never their secrets.
    func listSigningKeys(app: App) -> Response {
        JSONResponse.make(.ok, SigningKeyListResponse(keys: app.signingKeys.map { SigningKeyResponse($0, withSecret: false) }))
    }

    /// `DELETE /v1/apps/{app}/signing-keys/{kid}`: tokens signed with the key are refused
    /// from now on (sessions already open stay).
    func retireSigningKey(app: App, context: some RequestContext) async throws -> Response {
        guard let id = context.parameters.get("kid") else {
            throw APIError.badRequest("missing signing key id", code: "invalid_kid")
        }
        let catalog = self.dependencies.catalog
        let updated = try await self.storeCall("retire a signing key") {
            try await catalog.removeSigningKey(id: id, app: app.id)
        }
        guard let updated else {
            throw APIError(.notFound, "unknown_signing_key", "app \"\(app.id)\" has no signing key \"\(Printable.clip(id))\"")
        }
        self.dependencies.apps.upsert(updated)
        // On a cluster, the other nodes reload the app: a retired key is refused everywhere.
        await self.dependencies.appChanged(app.id)
        return Response(status: .noContent)
    }
}
