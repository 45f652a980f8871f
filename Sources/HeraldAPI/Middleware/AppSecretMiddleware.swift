import HeraldCore
import Hummingbird

/// The guard of the ``AppRoute``s: lets a request through only with
/// `Authorization: Bearer <app secret>` of the app its path names, compared in constant time,
/// and hands that app to the route in ``APIRequestContext/app``.
///
/// The credential is checked for presence before the app is looked up, so a request without
/// one never reaches the catalog.
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
        let app = try await self.handlers.app(named: try self.handlers.pathParameter("app", context: context))
        guard ConstantTime.equals(credential, app.secret) else {
            throw APIError.unauthorized("the app secret is wrong")
        }
        var context = context
        context.app = app
        return try await next(request, context)
    }
}
