import HTTPTypes
import HeraldCore

extension APIError {
    /// The answer to a ``MessageStoreError``, the one place store failures become HTTP:
    /// 503 (retry later), 409 (an idempotency key reused for another request) or 507 (an
    /// inbox or broadcast sequence reached its end).
    ///
    /// - Parameter operation: what the store was asked to do, named in the 503 message.
    init(_ error: MessageStoreError, operation: String? = nil) {
        switch error {
        case .unavailable:
            self = .storeUnavailable(operation: operation)
        case .idempotencyConflict:
            self.init(
                .conflict,
                "idempotency_conflict",
                "this Idempotency-Key was used within the last 24 hours for a different request"
            )
        case .sequenceExhausted(let app):
            self.init(
                .insufficientStorage,
                "sequence_exhausted",
                "a sequence of app \"\(Printable.clip(app))\" reached its end; nothing more can be stored under this epoch"
            )
        }
    }

    /// 503 `store_unavailable`, for a store that failed: the request may succeed once it is back.
    static func storeUnavailable(operation: String? = nil) -> APIError {
        let message =
            operation.map { "the store is unavailable (\($0)), retry later" } ?? "the store is unavailable, retry later"
        return APIError(.serviceUnavailable, "store_unavailable", message)
    }
}
