import HTTPTypes
import Hummingbird

/// An error answered as `{"error": {"code": "...", "message": "..."}}` with ``status``.
struct APIError: Error, HTTPResponseError, Sendable {
    var status: HTTPResponse.Status
    var code: String
    var message: String
    var headers: HTTPFields = [:]

    init(_ status: HTTPResponse.Status, _ code: String, _ message: String, headers: HTTPFields = [:]) {
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers
    }

    func response(from request: Request, context: some RequestContext) throws -> Response {
        self.response()
    }

    func response() -> Response {
        var response = JSONResponse.make(
            self.status,
            ErrorEnvelope(error: .init(code: self.code, message: self.message))
        )
        response.headers.append(contentsOf: self.headers)
        return response
    }

    private struct ErrorEnvelope: Encodable {
        struct Body: Encodable {
            var code: String
            var message: String
        }

        var error: Body
    }
}

extension APIError {
    static func badRequest(_ message: String, code: String = "bad_request") -> APIError {
        APIError(.badRequest, code, message)
    }

    static func unauthorized(_ message: String) -> APIError {
        APIError(.unauthorized, "unauthorized", message, headers: [.wwwAuthenticate: "Bearer"])
    }

    static func unknownApp(_ id: String) -> APIError {
        APIError(.notFound, "unknown_app", "app \"\(Printable.clip(id))\" does not exist")
    }

    static func unavailable(_ message: String) -> APIError {
        APIError(.serviceUnavailable, "store_unavailable", message)
    }

    static func payloadTooLarge(_ size: Int, limit: Int) -> APIError {
        APIError(
            .contentTooLarge,
            "payload_too_large",
            "payload is \(size) bytes; at most \(limit) fit in one PUSH frame"
        )
    }
}
