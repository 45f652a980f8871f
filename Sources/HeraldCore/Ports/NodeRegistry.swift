/// The cluster's node leases: each node renews its own, and a node whose lease lapsed is
/// dead for every other (its sessions drop out of the directory's answers, dispatch stops
/// offering it).
public protocol NodeRegistry: Sendable {
    /// Writes (or renews) `lease`, valid for `ttl` from now by the registry's clock.
    /// Returns false if the lease had lapsed (or was never written) before this renewal:
    /// the registry lost it (a restart) or the node was cut off for longer than the lease,
    /// and the node must restore its sessions.
    func renew(_ lease: NodeLease, ttl: Duration) async throws -> Bool
    /// The nodes whose leases are current, in no particular order.
    func liveNodes() async throws -> [NodeLease]
    /// Removes a node's lease at once (a clean stop).
    func withdraw(node: String) async throws
    /// Records how many sessions and users each app has on `node` (only the apps that
    /// changed since the last call; zero counts remove the app's entry for the node).
    func recordLoad(node: String, apps: [String: SessionCounts]) async throws
    /// Each live-or-not node's last recorded counts for `app`, by node id.
    func load(app: String) async throws -> [String: SessionCounts]
}
