/// A snapshot of a ``Gateway``'s counters.
public struct GatewayStats: Sendable, Hashable {
    /// Open client connections (WebSocket ones once upgraded).
    public var connections: Int
    /// Open sessions.
    public var sessions: Int
    /// Connections closed because they did not read what was written to them.
    public var slowConsumersClosed: Int
    /// Connections refused with `server_busy` because the node was at its connection cap.
    public var refusedConnections: Int

    /// Creates a snapshot.
    public init(connections: Int = 0, sessions: Int = 0, slowConsumersClosed: Int = 0, refusedConnections: Int = 0) {
        self.connections = connections
        self.sessions = sessions
        self.slowConsumersClosed = slowConsumersClosed
        self.refusedConnections = refusedConnections
    }
}
