/// The cluster's shared record of who is online where (360's Register): one holder per
/// (app, user, device), written when a session opens and when it closes, never on a
/// heartbeat.
///
/// The directory is the arbiter of the replace rule across nodes: ``register(_:)`` makes
/// the new session the holder and returns the one it displaced, in one atomic step, so that
/// two AUTHs of the same device on two nodes at once leave exactly one holder.
///
/// Answers leave out sessions of nodes that are not in `liveNodes` (their lease lapsed), so
/// a dead node's sessions vanish at once; ``removeSessions(ofNode:)`` cleans them up later.
public protocol SessionDirectory: Sendable {
    /// Makes `session` the holder of its (app, user, device) and returns the previous holder,
    /// if any (which the caller ends with GOAWAY `replaced`), with the ``SessionInfo/order``
    /// the directory gave `session`.
    func register(_ session: SessionInfo) async throws -> SessionRegistration
    /// Removes `session` if it is still the holder of its device; a session that was
    /// displaced meanwhile leaves its successor alone.
    func unregister(_ session: SessionInfo) async throws
    /// The sessions of each of `users`, in the same order as `users`, each list oldest first
    /// by ``SessionInfo/order``; only sessions on `liveNodes`.
    func sessions(app: String, users: [String], liveNodes: Set<ByteString>) async throws -> [[SessionInfo]]
    /// Registers again every session a node holds, after the directory lost them (a Redis
    /// restart); sessions of the node that are not in `sessions` are removed.
    func restore(node: String, sessions: [SessionInfo]) async throws
    /// Forgets every session recorded for `node` (a node whose lease lapsed); returns how
    /// many were removed. Safe to run on several nodes at once.
    func removeSessions(ofNode node: String) async throws -> Int
}

/// What ``SessionDirectory/register(_:)`` answers.
public struct SessionRegistration: Sendable, Hashable {
    /// The cluster-wide order the directory gave the new session.
    public var order: UInt64
    /// The session of the same (app, user, device) that the new one displaced.
    public var displaced: SessionInfo?

    public init(order: UInt64, displaced: SessionInfo?) {
        self.order = order
        self.displaced = displaced
    }
}
