import NIOCore
import Testing

@testable import HeraldGateway

/// Connections per address and accepts per second, on a clock the test moves.
@Suite struct AcceptLimiterTests {
    static let start = ContinuousClock.now

    static func address(_ ip: String, port: Int = 40_000) throws -> SocketAddress {
        try SocketAddress(ipAddress: ip, port: port)
    }

    @Test func connectionsPerAddressAreCountedUntilReleased() throws {
        let limiter = AcceptLimiter(maxConnectionsPerAddress: 2, maxAcceptsPerSecond: 0, now: Self.start)
        #expect(limiter.isActive && limiter.countsAddresses)
        let a1 = try Self.address("10.0.0.1", port: 1)
        let a2 = try Self.address("10.0.0.1", port: 2)
        #expect(limiter.admit(a1) == .admit)
        #expect(limiter.admit(a2) == .admit)
        // The port does not make another address.
        #expect(limiter.admit(try Self.address("10.0.0.1", port: 3)) == .tooManyFromAddress)
        #expect(limiter.admit(try Self.address("10.0.0.2")) == .admit)
        #expect(limiter.connections(from: a1) == 2)
        limiter.release(a1)
        #expect(limiter.connections(from: a1) == 1)
        #expect(limiter.admit(try Self.address("10.0.0.1", port: 4)) == .admit)
    }

    @Test func acceptsPerSecondRefillOverTime() throws {
        let limiter = AcceptLimiter(maxConnectionsPerAddress: 0, maxAcceptsPerSecond: 5, now: Self.start)
        #expect(limiter.isActive && !limiter.countsAddresses)
        let address = try Self.address("10.0.0.1")
        for _ in 0..<5 {
            #expect(limiter.admit(address, now: Self.start) == .admit)
        }
        #expect(limiter.admit(address, now: Self.start) == .tooFast)
        // A fifth of a second brings one more.
        #expect(limiter.admit(address, now: Self.start + .milliseconds(200)) == .admit)
        #expect(limiter.admit(address, now: Self.start + .milliseconds(200)) == .tooFast)
        // A long pause refills a second's worth, no more.
        let later = Self.start + .seconds(60)
        for _ in 0..<5 {
            #expect(limiter.admit(address, now: later) == .admit)
        }
        #expect(limiter.admit(address, now: later) == .tooFast)
    }

    @Test func noLimitsMeansInactive() {
        let limiter = AcceptLimiter(maxConnectionsPerAddress: 0, maxAcceptsPerSecond: 0)
        #expect(!limiter.isActive)
        #expect(limiter.admit(nil) == .admit)
    }
}
