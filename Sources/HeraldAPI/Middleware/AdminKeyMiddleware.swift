import Hummingbird

/// The guard of the ``AdminRoute``s: lets a request through only with
/// `Authorization: Bearer <admin key>`, compared in constant time.
struct AdminKeyMiddleware<Context: RequestContext>: RouterMiddleware {
    let adminKey: String

    func handle(
        _ request: Request,
        context: Context,
        next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        guard let credential = request.bearerCredential else {
            throw APIError.unauthorized("admin endpoints need Authorization: Bearer <admin key>")
        }
        guard ConstantTime.equals(credential, self.adminKey) else {
            throw APIError.unauthorized("the admin key is wrong")
        }
        return try await next(request, context)
    }
}
