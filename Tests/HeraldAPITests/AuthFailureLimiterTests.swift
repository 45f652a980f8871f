import Foundation
import HummingbirdTesting
import NIOConcurrencyHelpers
import Testing

@testable import HeraldAPI

/// Failed authentications, limited per source address: the token buckets on their own with
/// a clock the test moves, and the guards over real sockets.
@Suite("API: failed authentication limit")
struct AuthFailureLimiterTests {
    /// A clock that moves only when told.
    final class ManualClock: Sendable {
        private let instant = NIOLockedValueBox(ContinuousClock.now)
        var now: ContinuousClock.Instant { self.instant.withLockedValue { $0 } }
        func advance(by duration: Duration) { self.instant.withLockedValue { $0 += duration } }
    }

    @Test func anAddressMayFailItsBurstThenWaitsForRefill() {
        let clock = ManualClock()
        let limiter = AuthFailureLimiter(burst: 3, refillInterval: .seconds(2), maxAddresses: 100, now: { clock.now })
        for _ in 0..<3 {
            #expect(limiter.retryAfter("10.0.0.1") == nil)
            limiter.recordFailure("10.0.0.1")
        }
        #expect(limiter.retryAfter("10.0.0.1") == .seconds(2))
        #expect(limiter.retryAfter("10.0.0.2") == nil)
        clock.advance(by: .seconds(1))
        #expect(limiter.retryAfter("10.0.0.1") == .seconds(1))
        clock.advance(by: .seconds(1))
        #expect(limiter.retryAfter("10.0.0.1") == nil)
        limiter.recordFailure("10.0.0.1")
        #expect(limiter.retryAfter("10.0.0.1") == .seconds(2))
    }

    @Test func theTableIsBoundedAndKeepsTheLimitedAddresses() {
        let clock = ManualClock()
        let limiter = AuthFailureLimiter(burst: 2, refillInterval: .seconds(60), maxAddresses: 10, now: { clock.now })
        limiter.recordFailure("attacker")
        limiter.recordFailure("attacker")
        for index in 0..<1000 {
            limiter.recordFailure("10.1.\(index / 256).\(index % 256)")
            #expect(limiter.count <= 10)
        }
        #expect(limiter.retryAfter("attacker") != nil)
    }

    @Test func guardsAnswer429WithRetryAfterOnceAnAddressFailedTooOften() async throws {
        try await APIHarness.run(
            .live,
            configure: {
                $0.authFailureBurst = 3
                $0.authFailureRefillInterval = .seconds(3600)
            }
        ) { server in
            let body: [String: Any] = ["users": ["a"], "payload": "x"]
            expectError(try await server.post("/v1/apps/demo/messages", json: body, bearer: "wrong-1"), 401)
            expectError(try await server.post("/v1/apps/ghost/messages", json: body, bearer: "wrong-2"), 401)
            expectError(try await server.get("/v1/apps", bearer: "wrong-3"), 401)
            // A request without a credential guesses nothing and is not counted.
            expectError(try await server.get("/v1/apps", bearer: nil), 401)

            for (path, bearer) in [
                ("/v1/apps/demo/stats", "wrong-4"),
                ("/v1/apps/demo/stats", APIHarness.appSecret),
                ("/v1/apps", APIHarness.adminKey),
            ] {
                let limited = try await server.get(path, bearer: bearer)
                expectError(limited, 429, "too_many_failed_authentications")
                let retryAfter = try #require(limited.headers["retry-after"].flatMap { Int($0) }, "\(limited.headers)")
                #expect((1...3600).contains(retryAfter))
            }
            // Public routes stay open.
            #expect(try await server.get("/healthz", bearer: nil).status == 200)
        }
    }
}
