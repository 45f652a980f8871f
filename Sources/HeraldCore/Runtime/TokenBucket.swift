/// A token bucket: holds at most ``capacity`` tokens and gains ``perSecond`` of them a second,
/// starting full. The node's rate limits (accepts per second, failed authentications per
/// address) are each one of these under their owner's lock.
public struct TokenBucket: Sendable, Hashable {
    /// The most tokens the bucket holds.
    public let capacity: Double
    /// Tokens gained per second.
    public let perSecond: Double
    /// Tokens held at the last ``refill(now:)``.
    public private(set) var tokens: Double
    private var updated: ContinuousClock.Instant

    /// A full bucket. `perSecond` is at least one token in 30 years.
    public init(capacity: Double, perSecond: Double, now: ContinuousClock.Instant) {
        self.capacity = max(capacity, 0)
        self.perSecond = max(perSecond, 1e-9)
        self.tokens = self.capacity
        self.updated = now
    }

    /// Adds what accrued since the last refill, up to ``capacity``. A clock read out of order
    /// adds nothing.
    public mutating func refill(now: ContinuousClock.Instant) {
        guard now > self.updated else { return }
        let elapsed = (now - self.updated).components
        let seconds = Double(elapsed.seconds) + Double(elapsed.attoseconds) / 1e18
        self.tokens = min(self.capacity, self.tokens + seconds * self.perSecond)
        self.updated = now
    }

    /// Whether a whole token is there to spend.
    public var hasToken: Bool { self.tokens >= 1 }

    /// Whether the bucket is full: it holds nothing its owner needs to remember.
    public var isFull: Bool { self.tokens >= self.capacity }

    /// Spends one token; an empty bucket stays at zero.
    public mutating func spend() {
        self.tokens = max(0, self.tokens - 1)
    }

    /// How long until a whole token is there, rounded up to the nanosecond; `nil` when one
    /// is there now.
    public var timeUntilToken: Duration? {
        guard !self.hasToken else { return nil }
        return .nanoseconds(Int64(((1 - self.tokens) / self.perSecond * 1e9).rounded(.up)))
    }
}
