import NIOCore

/// How long to wait between attempts to connect: exponential, capped, with jitter so that
/// many clients that lost the same server do not all come back at the same instant.
public struct RedisBackoff: Hashable, Sendable {
    /// The wait after the first failed attempt.
    public var initial: TimeAmount
    /// The longest wait between attempts.
    public var maximum: TimeAmount
    /// How many attempts a client makes before a command fails (a subscriber never gives up).
    public var maximumAttempts: Int

    /// Creates a backoff that doubles from `initial` up to `maximum`.
    public init(initial: TimeAmount = .milliseconds(50), maximum: TimeAmount = .seconds(5), maximumAttempts: Int = 6) {
        self.initial = initial
        self.maximum = maximum
        self.maximumAttempts = maximumAttempts
    }

    /// The wait after failed attempt number `attempt` (from zero): between half and all of
    /// `initial × 2^attempt`, capped at `maximum`.
    public func delay(afterAttempt attempt: Int) -> TimeAmount {
        let ceiling = self.maximum.nanoseconds
        var delay = max(self.initial.nanoseconds, 1)
        for _ in 0..<min(attempt, 62) where delay < ceiling {
            delay = delay > ceiling / 2 ? ceiling : delay * 2
        }
        delay = min(delay, ceiling)
        return .nanoseconds(Int64.random(in: delay / 2...max(delay, 1)))
    }
}
