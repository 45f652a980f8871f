/// The cluster's shared record of who is online where (360's Register): one holder per
/// (app, user, device), written when a session opens and when it closes, never on a
/// heartbeat.
///
/// The directory is the arbiter of the replace rule across nodes: a registration makes the
/// new session the holder and returns the one it displaced, in one atomic step, so that two
/// AUTHs of the same device on two nodes at once leave exactly one holder.
///
/// Answers leave out sessions of nodes that are not in `liveNodes` (their lease lapsed), so
/// a dead node's sessions vanish at once; ``removeSessions(ofNode:)`` cleans them up later.
public protocol SessionDirectory: Sendable {
    /// Makes each of `sessions`, in order, the holder of its (app, user, device), in one write
    /// (one round trip on Redis), and answers for each, in the same order, the previous
    /// holder if any (which the caller ends with GOAWAY `replaced`) and the
    /// ``SessionInfo/order`` the directory gave it; a session registered after another of
    /// its device in the same call displaces that one. A registration that failed on its own
    /// (a Redis Cluster shard failing over) is a failure in its place, and the others stand;
    /// the call throws when nothing could be written.
    func register(_ sessions: [SessionInfo]) async throws -> [Result<SessionRegistration, any Error>]
    /// Removes each of `sessions` that is still the holder of its device, in one write; a
    /// session that was displaced meanwhile leaves its successor alone.
    func unregister(_ sessions: [SessionInfo]) async throws
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

extension SessionDirectory {
    /// Makes `session` the holder of its (app, user, device), as a call with it alone would.
    public func register(_ session: SessionInfo) async throws -> SessionRegistration {
        let results = try await self.register([session])
        guard results.count == 1, let result = results.first else {
            preconditionFailure("A session directory answers one registration per session.")
        }
        return try result.get()
    }

    /// Removes `session` if it is still the holder of its device.
    public func unregister(_ session: SessionInfo) async throws {
        try await self.unregister([session])
    }
}

/// What a registration in the ``SessionDirectory`` answers.
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
