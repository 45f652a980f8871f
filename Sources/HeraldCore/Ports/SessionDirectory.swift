/// The port that knows who is online where (360's Register). In process by default,
/// Redis in a cluster.
///
/// `register` and `unregister` are called from event loops on every AUTH and close, so
/// they return at once; an implementation that does I/O queues it.
public protocol SessionDirectory: Sendable {
    func register(_ session: SessionInfo)
    func unregister(_ session: SessionInfo)
    /// The online sessions of a user, oldest first.
    func sessions(app: String, user: String) async throws -> [SessionInfo]
    /// How many sessions and distinct users the app has online.
    func counts(app: String) async throws -> SessionCounts
}

/// Online sessions and users of an app.
public struct SessionCounts: Sendable, Hashable, Codable {
    public var sessions: Int
    public var users: Int

    public init(sessions: Int, users: Int) {
        self.sessions = sessions
        self.users = users
    }
}
