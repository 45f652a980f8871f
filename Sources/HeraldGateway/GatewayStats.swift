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
    /// Fan-out passes begun (each carries every broadcast and topic message queued since the
    /// one before, to each connection in one write).
    public var fanOutPasses: Int
    /// Slices the passes were written in (each event loop writes its own).
    public var fanOutSlices: Int
    /// The longest slice since the start, in nanoseconds: the longest a fan-out held an event
    /// loop away from its other work.
    public var longestFanOutSliceNanoseconds: Int64

    /// Creates a snapshot.
    public init(
        connections: Int = 0,
        sessions: Int = 0,
        slowConsumersClosed: Int = 0,
        refusedConnections: Int = 0,
        fanOutPasses: Int = 0,
        fanOutSlices: Int = 0,
        longestFanOutSliceNanoseconds: Int64 = 0
    ) {
        self.connections = connections
        self.sessions = sessions
        self.slowConsumersClosed = slowConsumersClosed
        self.refusedConnections = refusedConnections
        self.fanOutPasses = fanOutPasses
        self.fanOutSlices = fanOutSlices
        self.longestFanOutSliceNanoseconds = longestFanOutSliceNanoseconds
    }
}
