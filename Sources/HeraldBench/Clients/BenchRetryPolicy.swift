import NIOCore

/// How a reconnecting pool retries a connection that was refused or could not connect:
/// exponential backoff with jitter, a bounded number of attempts.
public struct BenchRetryPolicy: Sendable, Hashable, Codable {
    /// Attempts per connection per phase, the first included.
    public var maximumAttempts: Int
    /// The delay after the first failure.
    public var initialDelayMilliseconds: Int
    /// The longest delay.
    public var maximumDelayMilliseconds: Int

    public init(maximumAttempts: Int = 30, initialDelayMilliseconds: Int = 50, maximumDelayMilliseconds: Int = 2_000) {
        self.maximumAttempts = maximumAttempts
        self.initialDelayMilliseconds = initialDelayMilliseconds
        self.maximumDelayMilliseconds = maximumDelayMilliseconds
    }

    /// The delay before attempt `attempt + 1`: doubling from the initial delay up to the
    /// maximum, then between half and all of it, so that refused clients do not come back
    /// in lockstep.
    public func delay(afterAttempt attempt: Int) -> TimeAmount {
        let exponent = min(max(attempt - 1, 0), 20)
        let full = min(self.maximumDelayMilliseconds, self.initialDelayMilliseconds << exponent)
        let jittered = Double(full) * Double.random(in: 0.5...1.0)
        return .microseconds(Int64(jittered * 1_000))
    }
}
