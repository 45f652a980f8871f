import HeraldClient
import HeraldTestUtils
import Testing

@Suite struct BackoffTests {
    @Test func ceilingGrowsExponentiallyUpToTheCap() {
        let backoff = Backoff(base: .milliseconds(100), maximum: .seconds(2), jitter: 1)
        #expect(backoff.ceiling(attempt: 0) == .milliseconds(100))
        #expect(backoff.ceiling(attempt: 1) == .milliseconds(200))
        #expect(backoff.ceiling(attempt: 3) == .milliseconds(800))
        #expect(backoff.ceiling(attempt: 4) == .milliseconds(1600))
        #expect(backoff.ceiling(attempt: 5) == .seconds(2))
        #expect(backoff.ceiling(attempt: 1000) == .seconds(2))
        #expect(backoff.ceiling(attempt: -3) == .milliseconds(100))
    }

    @Test func hugeAttemptsDoNotOverflow() {
        let backoff = Backoff(base: .seconds(1_000_000), maximum: .seconds(3_000_000), jitter: 0)
        #expect(backoff.ceiling(attempt: 63) == .seconds(3_000_000))
        #expect(backoff.ceiling(attempt: Int.max) == .seconds(3_000_000))
    }

    @Test func fullJitterStaysWithinZeroAndTheCeilingAndSpreads() {
        let backoff = Backoff(base: .milliseconds(100), maximum: .seconds(10), jitter: 1)
        var random = SeededRandom(seed: 42)
        for attempt in 0..<8 {
            let ceiling = backoff.ceiling(attempt: attempt)
            var seen = Set<Duration>()
            for _ in 0..<200 {
                let delay = backoff.delay(attempt: attempt, using: &random)
                #expect(delay >= .zero && delay <= ceiling)
                seen.insert(delay)
            }
            // Full jitter spreads clients: 200 draws are not all alike, and some fall in the lower half.
            #expect(seen.count > 100)
            #expect(seen.contains { $0 < ceiling / 2 })
        }
    }

    @Test func noJitterIsExactlyTheCeiling() {
        let backoff = Backoff(base: .milliseconds(250), maximum: .seconds(1), jitter: 0)
        var random = SeededRandom(seed: 1)
        #expect(backoff.delay(attempt: 0, using: &random) == .milliseconds(250))
        #expect(backoff.delay(attempt: 1, using: &random) == .milliseconds(500))
        #expect(backoff.delay(attempt: 9, using: &random) == .seconds(1))
    }

    @Test func partialJitterKeepsTheFloor() {
        let backoff = Backoff(base: .seconds(1), maximum: .seconds(1), jitter: 0.25)
        var random = SeededRandom(seed: 7)
        for _ in 0..<100 {
            let delay = backoff.delay(attempt: 0, using: &random)
            #expect(delay >= .milliseconds(750) && delay <= .seconds(1))
        }
    }

    @Test func dispatchValuesAndClamping() {
        let backoff = Backoff(baseMs: 500, maxMs: 30_000, jitter: 1)
        #expect(backoff.base == .milliseconds(500))
        #expect(backoff.maximum == .seconds(30))
        let odd = Backoff(baseMs: 2000, maxMs: 100, jitter: 7)
        #expect(odd.maximum == .seconds(2))
        #expect(odd.jitter == 1)
        #expect(Backoff(base: .seconds(1), jitter: -1).jitter == 0)
        #expect(Backoff(base: .seconds(1), jitter: .nan).jitter == 1)
    }

    @Test func retryAfterAddsBoundedJitter() {
        let backoff = Backoff(base: .milliseconds(100), maximum: .seconds(5), jitter: 1)
        var random = SeededRandom(seed: 3)
        var seen = Set<Duration>()
        for _ in 0..<100 {
            let delay = backoff.delay(retryAfter: .seconds(2), using: &random)
            #expect(delay >= .seconds(2) && delay <= .seconds(4))
            seen.insert(delay)
        }
        #expect(seen.count > 50)
        for _ in 0..<20 {
            let delay = backoff.delay(retryAfter: .zero, using: &random)
            #expect(delay >= .zero && delay <= .milliseconds(100))
        }
    }
}
