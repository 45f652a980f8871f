import HeraldCore
import NIOConcurrencyHelpers

/// A ``NodeRegistry`` in one process, for tests: leases expire by the clock it is given, so
/// a test lapses one by moving its clock rather than by waiting.
public final class InMemoryNodeRegistry: NodeRegistry {
    private struct Entry {
        var lease: NodeLease
        var expires: ContinuousClock.Instant
    }

    private struct State {
        var leases: [ByteString: Entry] = [:]
        var load: [ByteString: [ByteString: SessionCounts]] = [:]
    }

    private let state = NIOLockedValueBox(State())
    private let now: @Sendable () -> ContinuousClock.Instant

    /// - Parameter now: the registry's clock, which decides when a lease lapses.
    public init(now: @escaping @Sendable () -> ContinuousClock.Instant = { ContinuousClock.now }) {
        self.now = now
    }

    public func renew(_ lease: NodeLease, ttl: Duration) async throws -> NodeRenewal {
        let now = self.now()
        return self.state.withLockedValue { state in
            let node = ByteString(lease.node)
            guard let entry = state.leases[node], entry.expires > now else {
                state.leases[node] = Entry(lease: lease, expires: now + ttl)
                return .lapsed
            }
            guard entry.lease.incarnation == lease.incarnation else { return .taken(by: entry.lease) }
            state.leases[node] = Entry(lease: lease, expires: now + ttl)
            return .renewed
        }
    }

    public func liveNodes() async throws -> [NodeLease] {
        let now = self.now()
        return self.state.withLockedValue { state in
            state.leases.values.filter { $0.expires > now }.map(\.lease)
        }
    }

    public func withdraw(node: String, incarnation: String?) async throws {
        self.state.withLockedValue { state in
            let node = ByteString(node)
            if let incarnation, let entry = state.leases[node], entry.lease.incarnation != incarnation { return }
            state.leases[node] = nil
        }
    }

    public func recordLoad(node: String, apps: [String: SessionCounts]) async throws {
        self.state.withLockedValue { state in
            for (app, counts) in apps {
                let app = ByteString(app)
                if counts.sessions == 0 && counts.users == 0 {
                    state.load[app]?[ByteString(node)] = nil
                    if state.load[app]?.isEmpty == true { state.load[app] = nil }
                } else {
                    state.load[app, default: [:]][ByteString(node)] = counts
                }
            }
        }
    }

    public func load(app: String) async throws -> [String: SessionCounts] {
        self.state.withLockedValue { state in
            var result: [String: SessionCounts] = [:]
            for (node, counts) in state.load[ByteString(app)] ?? [:] { result[node.string] = counts }
            return result
        }
    }
}
