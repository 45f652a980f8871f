/// What a node reports about itself on `GET /v1/stats`, read when asked.
public struct NodeStats: Sendable, Hashable {
    /// Open client connections.
    public var connections: Int
    /// Open sessions.
    public var sessions: Int
    /// The process's resident set size in bytes (`VmRSS`), if the platform tells it.
    public var residentBytes: Int?

    /// Creates a snapshot.
    public init(connections: Int = 0, sessions: Int = 0, residentBytes: Int? = nil) {
        self.connections = connections
        self.sessions = sessions
        self.residentBytes = residentBytes
    }
}
