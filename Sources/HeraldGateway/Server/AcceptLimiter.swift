import HeraldCore
import NIOConcurrencyHelpers
import NIOCore

/// The node's limits on new connections, checked as each is accepted, before it costs a
/// handler: connections per source address, and accepts per second (a token bucket that holds
/// a second's worth). Shared by every listener and event loop.
final class AcceptLimiter: Sendable {
    /// Whether an accepted connection may stay.
    enum Verdict: Sendable, Hashable {
        case admit
        /// Its address already has the most connections allowed.
        case tooManyFromAddress
        /// The node accepted as many connections as it may in the last second.
        case tooFast

        /// Why a refused connection was refused, for the client (a WebSocket's 503).
        var reason: String {
            switch self {
            case .admit: "The connection is admitted."
            case .tooManyFromAddress: "This address has as many connections as it may have; retry later."
            case .tooFast: "The node is accepting as many connections as it may per second; retry shortly."
            }
        }
    }

    private struct State {
        /// Open connections by source IP address (without the port).
        var perAddress: [String: Int] = [:]
        /// Accepts per second; nil when that limit is off.
        var accepts: TokenBucket?
    }

    private let maxPerAddress: Int
    private let maxPerSecond: Int
    private let state: NIOLockedValueBox<State>

    /// - Parameters:
    ///   - maxConnectionsPerAddress: open connections one address may have; 0 for no limit.
    ///   - maxAcceptsPerSecond: connections the node accepts per second; 0 for no limit.
    init(maxConnectionsPerAddress: Int, maxAcceptsPerSecond: Int, now: ContinuousClock.Instant = .now) {
        self.maxPerAddress = max(maxConnectionsPerAddress, 0)
        self.maxPerSecond = max(maxAcceptsPerSecond, 0)
        let rate = Double(self.maxPerSecond)
        self.state = NIOLockedValueBox(
            State(accepts: self.maxPerSecond > 0 ? TokenBucket(capacity: rate, perSecond: rate, now: now) : nil))
    }

    /// Whether either limit is set: when neither is, accepts skip the limiter altogether.
    var isActive: Bool { self.maxPerAddress > 0 || self.maxPerSecond > 0 }

    /// Whether admitted connections count against their address until ``release(_:)``.
    var countsAddresses: Bool { self.maxPerAddress > 0 }

    /// Takes a connection from `address` accepted at `now`. An admitted one counts against
    /// its address (when that limit is set) until ``release(_:)``.
    func admit(_ address: SocketAddress?, now: ContinuousClock.Instant = .now) -> Verdict {
        let key = self.maxPerAddress > 0 ? Self.key(address) : nil
        return self.state.withLockedValue { state in
            if state.accepts != nil {
                state.accepts?.refill(now: now)
                guard state.accepts?.hasToken == true else { return .tooFast }
            }
            if let key {
                let open = state.perAddress[key, default: 0]
                guard open < self.maxPerAddress else { return .tooManyFromAddress }
                state.perAddress[key] = open + 1
            }
            state.accepts?.spend()
            return .admit
        }
    }

    /// An admitted connection from `address` closed.
    func release(_ address: SocketAddress?) {
        guard self.maxPerAddress > 0, let key = Self.key(address) else { return }
        self.state.withLockedValue { state in
            guard let open = state.perAddress[key] else { return }
            state.perAddress[key] = open > 1 ? open - 1 : nil
        }
    }

    /// Open connections counted for `address`.
    func connections(from address: SocketAddress?) -> Int {
        guard let key = Self.key(address) else { return 0 }
        return self.state.withLockedValue { $0.perAddress[key] ?? 0 }
    }

    private static func key(_ address: SocketAddress?) -> String? {
        address?.ipAddress
    }
}
