import HTTPTypes
import HeraldCore

/// An error answered as `{"error": {"code": "...", "message": "..."}}` with ``status``.
///
/// The HTTP answer is in APIError+Response.swift: this file stays free of Hummingbird, so that
/// the fuzz package can link the body reading without it (Fuzz/Package.swift).
struct APIError: Error, Sendable {
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
}

extension APIError {
    static func badRequest(_ message: String, code: String = "bad_request") -> APIError {
        APIError(.badRequest, code, message)
    }

    static func unauthorized(_ message: String) -> APIError {
        APIError(.unauthorized, "unauthorized", message, headers: [.wwwAuthenticate: "Bearer"])
    }

    /// 429 for a source address that failed to authenticate too often; `retryAfter` is rounded up to seconds.
    static func tooManyFailedAuthentications(retryAfter: Duration) -> APIError {
        let seconds = max(1, retryAfter.components.seconds + (retryAfter.components.attoseconds > 0 ? 1 : 0))
        return APIError(
            .tooManyRequests,
            "too_many_failed_authentications",
            "too many failed authentications from this address; retry after \(seconds) seconds",
            headers: [.retryAfter: String(seconds)]
        )
    }

    static func unknownApp(_ id: String) -> APIError {
        APIError(.notFound, "unknown_app", "app \"\(Printable.clip(id))\" does not exist")
    }

    /// An app policy that cannot be used; `message` says why.
    static func invalidPolicy(_ message: String) -> APIError {
        .badRequest(message, code: "invalid_policy")
    }

    static func idempotencyKeyWithoutStoredMessages() -> APIError {
        .badRequest(
            "Idempotency-Key applies to requests with qos 1 messages; qos 0 messages are not stored",
            code: "invalid_idempotency_key"
        )
    }

    /// The store answered a different number of messages than it was given: a store bug.
    static func mismatchedStoreResult() -> APIError {
        APIError(.internalServerError, "internal", "the store answered an unexpected result")
    }

    static func payloadTooLarge(_ size: Int, limit: Int) -> APIError {
        APIError(
            .contentTooLarge,
            "payload_too_large",
            "payload is \(size) bytes; at most \(limit) fit in one PUSH frame"
        )
    }
}

extension HTTPResponse.Status {
    /// 507: HTTPTypes has no name for it.
    static let insufficientStorage = HTTPResponse.Status(code: 507, reasonPhrase: "Insufficient Storage")
}
