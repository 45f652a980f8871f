import HeraldCore
import Testing

/// The token bucket behind the node's rate limits, on instants the test chooses.
@Suite struct TokenBucketTests {
    static let start = ContinuousClock.now

    @Test func startsFullSpendsAndRefillsUpToItsCapacity() {
        var bucket = TokenBucket(capacity: 3, perSecond: 2, now: Self.start)
        #expect(bucket.isFull && bucket.hasToken)
        for _ in 0..<3 { bucket.spend() }
        #expect(!bucket.hasToken)
        #expect(bucket.timeUntilToken == .milliseconds(500))
        bucket.spend()
        #expect(bucket.tokens == 0)
        bucket.refill(now: Self.start + .milliseconds(250))
        #expect(bucket.tokens == 0.5 && bucket.timeUntilToken == .milliseconds(250))
        bucket.refill(now: Self.start + .milliseconds(500))
        #expect(bucket.hasToken && bucket.timeUntilToken == nil)
        bucket.refill(now: Self.start + .seconds(3600))
        #expect(bucket.tokens == 3 && bucket.isFull)
    }

    @Test func anInstantBeforeTheLastRefillAddsNothing() {
        var bucket = TokenBucket(capacity: 1, perSecond: 1, now: Self.start + .seconds(1))
        bucket.spend()
        bucket.refill(now: Self.start)
        #expect(bucket.tokens == 0)
        bucket.refill(now: Self.start + .seconds(2))
        #expect(bucket.tokens == 1)
    }
}
