import NIOConcurrencyHelpers

/// Counters readable from any thread; connections are admitted against the cap here.
final class GatewayCounters: Sendable {
    private let state = NIOLockedValueBox(GatewayStats())

    /// Counts a new connection if the node is under `limit`; returns `false` (and counts the refusal) otherwise.
    func admitConnection(limit: Int) -> Bool {
        self.state.withLockedValue { stats in
            guard stats.connections < limit else {
                stats.refusedConnections += 1
                return false
            }
            stats.connections += 1
            return true
        }
    }

    /// Counts a connection refused at accept (the per-address or accept-rate limit).
    func connectionRefused() {
        self.state.withLockedValue { $0.refusedConnections += 1 }
    }

    func connectionClosed() {
        self.state.withLockedValue { $0.connections -= 1 }
    }

    func sessionsChanged(by delta: Int) {
        self.state.withLockedValue { $0.sessions += delta }
    }

    func slowConsumerClosed() {
        self.state.withLockedValue { $0.slowConsumersClosed += 1 }
    }

    /// A fan-out slice ended after `nanoseconds`, having begun `passes` passes.
    func fanOutSlice(nanoseconds: Int64, passes: Int) {
        self.state.withLockedValue { stats in
            stats.fanOutSlices += 1
            stats.fanOutPasses += passes
            stats.longestFanOutSliceNanoseconds = max(stats.longestFanOutSliceNanoseconds, nanoseconds)
        }
    }

    var snapshot: GatewayStats {
        self.state.withLockedValue { $0 }
    }
}
