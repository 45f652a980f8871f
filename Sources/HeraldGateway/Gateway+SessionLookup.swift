import HeraldCore

/// Who is online on this node, asked of every event loop's shard: the connections are the
/// directory, so a session costs no second index.
extension Gateway: SessionLookup {
    /// The online sessions of a user on this node, oldest first.
    public func sessions(app: String, user: String) async throws -> [SessionInfo] {
        let node = self.nodeID
        let perShard = await self.everyShard { $0.sessions(app: app, user: user, node: node) }
        return perShard.joined().sorted { $0.order < $1.order }
    }

    /// How many sessions and distinct users the app has online on this node. A user with
    /// sessions on several loops counts once.
    public func counts(app: String) async throws -> SessionCounts {
        Self.merge(await self.everyShard { $0.onlineCounts(app: app) })
    }

    /// The node's counts from the loops' own: sessions add up, users are counted once.
    static func merge(_ perShard: [(sessions: Int, users: Set<ByteString>)]) -> SessionCounts {
        let sessions = perShard.reduce(0) { $0 + $1.sessions }
        if perShard.count == 1, let only = perShard.first {
            return SessionCounts(sessions: sessions, users: only.users.count)
        }
        var users = Set<ByteString>()
        for shard in perShard { users.formUnion(shard.users) }
        return SessionCounts(sessions: sessions, users: users.count)
    }
}
