/// Reconnect delays: exponential growth from ``base`` up to ``maximum``, with jitter.
///
/// The value is pure: every delay is computed from the attempt number and a random
/// source the caller passes in, so tests can inject a seeded generator.
///
/// The delay of attempt `n` (0 for the first retry) is drawn from
/// `[ceiling × (1 − jitter), ceiling]` where `ceiling = min(maximum, base × 2ⁿ)`.
/// `jitter` 1 is "full jitter" (uniform in `[0, ceiling]`), which spreads a reconnect
/// storm of many clients best; 0 is no randomness at all.
public struct Backoff: Sendable, Hashable {
    /// The ceiling of the first retry.
    public var base: Duration
    /// The largest ceiling: growth stops here.
    public var maximum: Duration
    /// The randomised fraction of each delay, from 0 (none) to 1 (full jitter).
    public var jitter: Double

    /// Creates a backoff policy. `jitter` is clamped to `0...1`; a `maximum` below `base` is raised to `base`.
    public init(base: Duration = .milliseconds(500), maximum: Duration = .seconds(30), jitter: Double = 1) {
        self.base = max(base, .zero)
        self.maximum = max(maximum, self.base)
        self.jitter = jitter.isNaN ? 1 : min(max(jitter, 0), 1)
    }

    /// Creates a backoff policy from the `reconnect` object of `GET /v1/dispatch`
    /// (`{"baseMs": 500, "maxMs": 30000, "jitter": 1}`).
    public init(baseMs: Int, maxMs: Int, jitter: Double) {
        self.init(base: .milliseconds(baseMs), maximum: .milliseconds(maxMs), jitter: jitter)
    }

    /// The upper bound of the delay of attempt `attempt` (0 for the first retry).
    public func ceiling(attempt: Int) -> Duration {
        let base = self.base.nanoseconds
        let maximum = self.maximum.nanoseconds
        // 2^62 already exceeds any Int64 delay once multiplied: stop shifting there.
        let factor = Int64(1) << Int64(min(max(attempt, 0), 62))
        let (product, overflow) = base.multipliedReportingOverflow(by: factor)
        return .nanoseconds(overflow ? maximum : min(product, maximum))
    }

    /// A random delay for attempt `attempt` (0 for the first retry).
    public func delay(attempt: Int, using generator: inout some RandomNumberGenerator) -> Duration {
        self.jittered(self.ceiling(attempt: attempt), using: &generator)
    }

    /// The delay after the server asked to wait `retryAfter` (GOAWAY `draining`): the wait itself,
    /// plus a jitter of up to `max(retryAfter, base)` so that the clients of a draining node
    /// do not all arrive at the next one at the same instant.
    public func delay(retryAfter: Duration, using generator: inout some RandomNumberGenerator) -> Duration {
        let retryAfter = max(retryAfter, .zero)
        let window = max(retryAfter, self.base).nanoseconds
        guard window > 0 else { return retryAfter }
        return retryAfter + .nanoseconds(Int64.random(in: 0...window, using: &generator))
    }

    private func jittered(_ ceiling: Duration, using generator: inout some RandomNumberGenerator) -> Duration {
        let ceiling = ceiling.nanoseconds
        let spread = Int64((Double(ceiling) * self.jitter).rounded(.down))
        guard spread > 0 else { return .nanoseconds(ceiling) }
        return .nanoseconds(ceiling - Int64.random(in: 0...spread, using: &generator))
    }
}

extension Duration {
    /// The duration in whole nanoseconds, clamped to the range of `Int64`.
    var nanoseconds: Int64 {
        let (seconds, attoseconds) = self.components
        let (secondsPart, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return seconds < 0 ? .min : .max }
        let (total, overflow2) = secondsPart.addingReportingOverflow(attoseconds / 1_000_000_000)
        if overflow2 { return seconds < 0 ? .min : .max }
        return total
    }
}
