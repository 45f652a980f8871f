/// Online sessions and users of an app.
public struct SessionCounts: Sendable, Hashable, Codable {
    public var sessions: Int
    public var users: Int

    public init(sessions: Int, users: Int) {
        self.sessions = sessions
        self.users = users
    }
}
