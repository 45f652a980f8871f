/// Why a store call failed, in terms the API can map to a status.
public enum MessageStoreError: Error, Sendable, Hashable {
    /// The database cannot be reached or refused the write: retry later (HTTP 503).
    case unavailable(String)
    /// The idempotency key was used within its window for a different request (HTTP 409).
    case idempotencyConflict
    /// A sequence reached its end within the epoch (UInt32.max): nothing more can be
    /// stored under it until the app's sequences start again.
    case sequenceExhausted(app: String)
}
