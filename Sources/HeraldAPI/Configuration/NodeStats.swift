/// What a node reports about itself on `GET /v1/stats`, read when asked.
public struct NodeStats: Sendable, Hashable {
    /// Open client connections.
    public var connections: Int
    /// Open sessions.
    public var sessions: Int
    /// The process's resident set size in bytes (`VmRSS`), if the platform tells it.
    public var residentBytes: Int?
    /// Fan-out passes begun (each carries every broadcast and topic message queued since the
    /// previous one, to each connection in one write).
    public var fanOutPasses: Int
    /// The longest an event loop was held by one fan-out slice, in seconds.
    public var longestFanOutSliceSeconds: Double

    /// Creates a snapshot.
    public init(
        connections: Int = 0,
        sessions: Int = 0,
        residentBytes: Int? = nil,
        fanOutPasses: Int = 0,
        longestFanOutSliceSeconds: Double = 0
    ) {
        self.connections = connections
        self.sessions = sessions
        self.residentBytes = residentBytes
        self.fanOutPasses = fanOutPasses
        self.longestFanOutSliceSeconds = longestFanOutSliceSeconds
    }
}
