import HeraldCore
import HeraldTesting
import NIOConcurrencyHelpers
import Testing

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// What the in-process cluster doubles do that the shared contract suite cannot drive:
/// a lease lapsing by a test's clock.
@Suite struct InMemoryClusterTests {
    static func lease(_ node: String) -> NodeLease {
        NodeLease(
            node: node, roles: .all, state: .ready, tcpEndpoint: nil, webSocketEndpoint: nil,
            maxConnections: 10, connections: 0, sessions: 0, cpu: 0, startedAt: Date(millisecondsSince1970: 0))
    }

    @Test func leasesLapseByTheInjectedClock() async throws {
        let start = ContinuousClock.now
        let elapsed = NIOLockedValueBox(Duration.zero)
        let registry = InMemoryNodeRegistry(now: { start + elapsed.withLockedValue { $0 } })

        #expect(try await registry.renew(Self.lease("a"), ttl: .seconds(10)) == .lapsed)
        #expect(try await registry.renew(Self.lease("b"), ttl: .seconds(30)) == .lapsed)
        elapsed.withLockedValue { $0 = .seconds(9) }
        #expect(try await registry.renew(Self.lease("a"), ttl: .seconds(10)) == .renewed)
        elapsed.withLockedValue { $0 = .seconds(18) }
        #expect(try await registry.liveNodes().map(\.node).sorted() == ["a", "b"])
        elapsed.withLockedValue { $0 = .seconds(25) }
        #expect(try await registry.liveNodes().map(\.node) == ["b"])
        #expect(try await registry.renew(Self.lease("a"), ttl: .seconds(10)) == .lapsed)
    }

    @Test func resubscribeReachesEverySubscription() async throws {
        let bus = InMemoryMessageBus()
        var events = bus.subscribe(node: "a").makeAsyncIterator()
        bus.simulateResubscribe()
        guard case .resubscribed = await events.next() else {
            Issue.record("the subscription did not hear of the resubscribe")
            return
        }
    }
}
