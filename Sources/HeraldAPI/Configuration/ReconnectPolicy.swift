/// The reconnect backoff clients should use, set by the operator and handed out by `/v1/dispatch`.
public struct ReconnectPolicy: Sendable, Hashable, Codable {
    /// First delay, in milliseconds.
    public var baseMs: Int
    /// Longest delay, in milliseconds.
    public var maxMs: Int
    /// Random spread added to each delay, as a fraction of it (0 to 1).
    public var jitter: Double

    /// Creates a policy.
    public init(baseMs: Int = 500, maxMs: Int = 30_000, jitter: Double = 0.2) {
        self.baseMs = baseMs
        self.maxMs = maxMs
        self.jitter = jitter
    }
}
