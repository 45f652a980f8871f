import NIOConcurrencyHelpers

/// The node leases that were current at the last renewal, shared by the node's membership
/// (which writes them every third of a lease) and its delivery and dispatch (which read
/// them without asking the registry).
public final class LiveNodes: Sendable {
    private struct State {
        var leases: [NodeLease] = []
        var ids: Set<ByteString> = []
    }

    private let state = NIOLockedValueBox(State())

    /// Creates an empty view; nothing is live until the first ``update(_:)``.
    public init(_ leases: [NodeLease] = []) {
        self.update(leases)
    }

    /// Replaces the view with `leases`.
    public func update(_ leases: [NodeLease]) {
        let ids = Set(leases.map { ByteString($0.node) })
        self.state.withLockedValue {
            $0.leases = leases
            $0.ids = ids
        }
    }

    /// The current leases.
    public var leases: [NodeLease] {
        self.state.withLockedValue { $0.leases }
    }

    /// The ids of the live nodes, by bytes.
    public var ids: Set<ByteString> {
        self.state.withLockedValue { $0.ids }
    }
}
