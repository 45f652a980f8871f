/// The port that knows who is online where across nodes (360's Register): sessions are
/// registered as they open and close. A single node needs none: its gateway answers
/// ``SessionLookup`` from the connections themselves.
///
/// `register` and `unregister` are called from event loops on every AUTH and close, so
/// they return at once; an implementation that does I/O queues it.
public protocol SessionDirectory: SessionLookup {
    func register(_ session: SessionInfo)
    func unregister(_ session: SessionInfo)
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
