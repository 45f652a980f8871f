import Hummingbird

/// The guard of the ``AdminRoute``s: lets a request through only with
/// `Authorization: Bearer <admin key>`, compared in constant time; a source address that
/// failed too often gets 429 (``AuthFailureLimiter``).
struct AdminKeyMiddleware: RouterMiddleware {
    typealias Context = APIRequestContext

    let adminKey: String
    let authFailures: AuthFailureLimiter

    func handle(
        _ request: Request,
        context: APIRequestContext,
        next: (Request, APIRequestContext) async throws -> Response
    ) async throws -> Response {
        guard let credential = request.bearerCredential else {
            throw APIError.unauthorized("admin endpoints need Authorization: Bearer <admin key>")
        }
        try self.authFailures.check(context)
        guard self.authFailures.verify(credential, matches: self.adminKey, context: context) else {
            throw APIError.unauthorized("the admin key is wrong")
        }
        return try await next(request, context)
    }
}
