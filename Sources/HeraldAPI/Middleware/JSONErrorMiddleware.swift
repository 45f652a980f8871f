import HTTPTypes
import HeraldCore
import Hummingbird
import Logging
import NIOCore

/// Renders every error as the API's JSON error shape, including Hummingbird's own
/// (unknown route, body too large) and anything unexpected (500 `internal`).
///
/// A path that exists with another method gets 405 with `Allow` rather than 404.
struct JSONErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(
        _ request: Request,
        context: Context,
        next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as APIError {
            return error.response()
        } catch let error as HTTPError {
            return Self.translate(error, request: request).response()
        } catch is NIOTooManyBytesError {
            return APIError(.contentTooLarge, "body_too_large", "request body is too large").response()
        } catch let error as MessageStoreError {
            if case .unavailable(let reason) = error {
                context.logger.debug("store unavailable", metadata: ["error.message": "\(reason)"])
            }
            return APIError(error).response()
        } catch {
            context.logger.error("unexpected error", metadata: ["error.type": "\(String(reflecting: type(of: error)))"])
            return APIError(.internalServerError, "internal", "internal error").response()
        }
    }

    private static func translate(_ error: HTTPError, request: Request) -> APIError {
        switch error.status {
        case .notFound:
            let allowed = APIRoute.methods(matching: request.uri.path)
            if !allowed.isEmpty {
                let allow = allowed.map(\.rawValue).joined(separator: ", ")
                return APIError(
                    .methodNotAllowed,
                    "method_not_allowed",
                    "\(request.method.rawValue) is not allowed here; use \(allow)",
                    headers: [.allow: allow]
                )
            }
            return APIError(
                .notFound,
                "not_found",
                "no route for \(request.method.rawValue) \(Printable.clip(request.uri.path, limit: 200))"
            )
        case .contentTooLarge:
            return APIError(.contentTooLarge, "body_too_large", error.body ?? "request body is too large")
        default:
            let code = error.status.reasonPhrase.lowercased().replacingSpaces()
            return APIError(error.status, code, error.body ?? error.status.reasonPhrase)
        }
    }
}

extension String {
    fileprivate func replacingSpaces() -> String {
        String(self.map { $0 == " " || $0 == "-" ? "_" : $0 })
    }
}
