import HeraldCore
import Hummingbird

/// The guard of the ``AppRoute``s: lets a request through only with
/// `Authorization: Bearer <app secret>` of the app its path names, compared in constant time,
/// and hands that app to the route in ``APIRequestContext/app``.
///
/// The credential is checked for presence before the app is looked up, so a request without
/// one never reaches the catalog. An app that does not exist gets the same answer as a wrong
/// secret, after a comparison of the same cost, so app ids cannot be probed. A source
/// address that failed too often gets 429 (``AuthFailureLimiter``).
struct AppSecretMiddleware: RouterMiddleware {
    typealias Context = APIRequestContext

    /// Looks apps up (registry, then catalog) and reads the `{app}` parameter.
    let handlers: APIHandlers

    func handle(
        _ request: Request,
        context: APIRequestContext,
        next: (Request, APIRequestContext) async throws -> Response
    ) async throws -> Response {
        guard let credential = request.bearerCredential else {
            throw APIError.unauthorized("app endpoints need Authorization: Bearer <app secret>")
        }
        try self.handlers.authFailures.check(context)
        let app = try await self.handlers.knownApp(named: try self.handlers.pathParameter("app", context: context))
        let matches = self.handlers.authFailures.verify(credential, matches: app?.secret, context: context)
        guard let app, matches else {
            throw APIError.unauthorized("the app id or its secret is wrong")
        }
        var context = context
        context.app = app
        return try await next(request, context)
    }
}
