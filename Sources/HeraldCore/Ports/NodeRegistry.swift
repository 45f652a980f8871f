/// The cluster's node leases: each node renews its own, and a node whose lease lapsed is
/// dead for every other (its sessions drop out of the directory's answers, dispatch stops
/// offering it).
public protocol NodeRegistry: Sendable {
    /// Writes (or renews) `lease`, valid for `ttl` from now by the registry's clock, unless a
    /// current lease of the node has another ``NodeLease/incarnation``: one process holds a
    /// node id at a time. Reading the current lease and writing the new one is one atomic
    /// step, so two processes never both hold the id.
    ///
    /// Answers ``NodeRenewal/lapsed`` if no lease of the node was current (the registry lost
    /// it in a restart, or the node was cut off for longer than the lease: the node must
    /// restore its sessions), and ``NodeRenewal/taken(by:)`` with the other process's lease.
    func renew(_ lease: NodeLease, ttl: Duration) async throws -> NodeRenewal
    /// The nodes whose leases are current, in no particular order.
    func liveNodes() async throws -> [NodeLease]
    /// Removes a node's lease at once (a clean stop), only if it has `incarnation` when one
    /// is given: a process never removes the lease of another that took its id.
    func withdraw(node: String, incarnation: String?) async throws
    /// Records how many sessions and users each app has on `node` (only the apps that
    /// changed since the last call; zero counts remove the app's entry for the node).
    func recordLoad(node: String, apps: [String: SessionCounts]) async throws
    /// Each live-or-not node's last recorded counts for `app`, by node id.
    func load(app: String) async throws -> [String: SessionCounts]
}

extension NodeRegistry {
    /// Removes a node's lease at once, whichever process holds it.
    public func withdraw(node: String) async throws {
        try await self.withdraw(node: node, incarnation: nil)
    }
}
