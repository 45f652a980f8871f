import NIOConcurrencyHelpers

/// Failed authentications per source address, as token buckets: an address may fail
/// ``burst`` times in a row, then once per ``refillInterval``; while its bucket is empty,
/// its requests to guarded routes are answered 429 without their credential being checked,
/// so keys and secrets cannot be guessed at speed.
///
/// The table is bounded: when it holds ``maxAddresses`` buckets, a new address first drops
/// the buckets that have refilled (they hold nothing), then the fullest one.
final class AuthFailureLimiter: Sendable {
    private struct Bucket {
        var tokens: Double
        var updated: ContinuousClock.Instant
    }

    /// Failures an address may make before it must wait.
    let burst: Int
    /// The time that gives a limited address one more try.
    let refillInterval: Duration
    /// Most addresses tracked at once.
    let maxAddresses: Int
    private let refillSeconds: Double
    private let now: @Sendable () -> ContinuousClock.Instant
    private let buckets = NIOLockedValueBox<[String: Bucket]>([:])

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
        self.refillSeconds = max(1e-9, Double(components.seconds) + Double(components.attoseconds) / 1e18)
        self.now = now
    }

    /// How long `address` must wait before its next try; nil when it may try now.
    func retryAfter(_ address: String) -> Duration? {
        let now = self.now()
        return self.buckets.withLockedValue { buckets in
            guard var bucket = buckets[address] else { return nil }
            self.refill(&bucket, now: now)
            buckets[address] = bucket
            guard bucket.tokens < 1 else { return nil }
            return .nanoseconds(Int64(((1 - bucket.tokens) * self.refillSeconds * 1e9).rounded(.up)))
        }
    }

    /// Takes one try from `address`'s bucket after a failed authentication.
    func recordFailure(_ address: String) {
        let now = self.now()
        self.buckets.withLockedValue { buckets in
            var bucket: Bucket
            if let existing = buckets[address] {
                bucket = existing
                self.refill(&bucket, now: now)
            } else {
                if buckets.count >= self.maxAddresses { self.evict(from: &buckets, now: now) }
                bucket = Bucket(tokens: Double(self.burst), updated: now)
            }
            bucket.tokens = max(0, bucket.tokens - 1)
            buckets[address] = bucket
        }
    }

    /// Addresses tracked now.
    var count: Int {
        self.buckets.withLockedValue { $0.count }
    }

    private func refill(_ bucket: inout Bucket, now: ContinuousClock.Instant) {
        let elapsed = now - bucket.updated
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        bucket.tokens = min(Double(self.burst), bucket.tokens + seconds / self.refillSeconds)
        bucket.updated = now
    }

    private func evict(from buckets: inout [String: Bucket], now: ContinuousClock.Instant) {
        var fullest: (address: String, tokens: Double)?
        for (address, var bucket) in buckets {
            self.refill(&bucket, now: now)
            if bucket.tokens >= Double(self.burst) {
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
