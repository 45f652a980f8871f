import HeraldWire

/// What a cluster node's runtime needs of its local gateway, besides delivering to and
/// answering for the sessions it holds.
public protocol ClusterGateway: PushDelivery, SessionLookup {
    /// The node's id, as its sessions carry it.
    var nodeID: String { get }
    /// The gateway's open connections and sessions, cheap to read.
    var clientCounts: (connections: Int, sessions: Int) { get }
    /// Ends the session `id` with GOAWAY `reason`; false if the node no longer holds it.
    func endSession(_ id: SessionID, reason: GoAwayReason) async -> Bool
    /// Every session the node holds (to restore the directory).
    func localSessions() async -> [SessionInfo]
    /// Each app's sessions and distinct users on the node.
    func appCounts() async -> [String: SessionCounts]
    /// Sends every client away with GOAWAY `draining`, and every new one until
    /// ``serveClients()``, without closing the listeners.
    func drainClients() async
    /// Takes new clients again.
    func serveClients()
}
