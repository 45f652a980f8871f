import HeraldCore
import NIOConcurrencyHelpers

/// Failed authentications per source address, as token buckets: an address may fail
/// ``burst`` times in a row, then once per ``refillInterval``; while its bucket is empty,
/// its requests to guarded routes are answered 429 without their credential being checked,
/// so keys and secrets cannot be guessed at speed.
///
/// The table is bounded: when it holds ``maxAddresses`` buckets, a new address first drops
/// the buckets that have refilled (they hold nothing), then the fullest one.
final class AuthFailureLimiter: Sendable {
    /// Failures an address may make before it must wait.
    let burst: Int
    /// The time that gives a limited address one more try.
    let refillInterval: Duration
    /// Most addresses tracked at once.
    let maxAddresses: Int
    private let perSecond: Double
    private let now: @Sendable () -> ContinuousClock.Instant
    private let buckets = NIOLockedValueBox<[String: TokenBucket]>([:])

    init(
        burst: Int,
        refillInterval: Duration,
        maxAddresses: Int,
        now: @escaping @Sendable () -> ContinuousClock.Instant = { ContinuousClock.now }
    ) {
        self.burst = max(1, burst)
        self.refillInterval = refillInterval
        self.maxAddresses = max(1, maxAddresses)
        let components = refillInterval.components
        self.perSecond = 1 / max(1e-9, Double(components.seconds) + Double(components.attoseconds) / 1e18)
        self.now = now
    }

    /// How long `address` must wait before its next try; nil when it may try now.
    func retryAfter(_ address: String) -> Duration? {
        let now = self.now()
        return self.buckets.withLockedValue { buckets in
            guard var bucket = buckets[address] else { return nil }
            bucket.refill(now: now)
            buckets[address] = bucket
            return bucket.timeUntilToken
        }
    }

    /// Takes one try from `address`'s bucket after a failed authentication.
    func recordFailure(_ address: String) {
        let now = self.now()
        self.buckets.withLockedValue { buckets in
            var bucket: TokenBucket
            if let existing = buckets[address] {
                bucket = existing
                bucket.refill(now: now)
            } else {
                if buckets.count >= self.maxAddresses { self.evict(from: &buckets, now: now) }
                bucket = TokenBucket(capacity: Double(self.burst), perSecond: self.perSecond, now: now)
            }
            bucket.spend()
            buckets[address] = bucket
        }
    }

    /// Addresses tracked now.
    var count: Int {
        self.buckets.withLockedValue { $0.count }
    }

    private func evict(from buckets: inout [String: TokenBucket], now: ContinuousClock.Instant) {
        var fullest: (address: String, tokens: Double)?
        for (address, var bucket) in buckets {
            bucket.refill(now: now)
            if bucket.isFull {
                buckets[address] = nil
            } else if bucket.tokens > fullest?.tokens ?? -1 {
                fullest = (address, bucket.tokens)
            }
        }
        if buckets.count >= self.maxAddresses, let fullest {
            buckets[fullest.address] = nil
        }
    }
}
