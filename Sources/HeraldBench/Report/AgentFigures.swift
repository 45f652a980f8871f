/// One agent in a report.
public struct AgentFigures: Sendable, Codable, Hashable {
    /// Its name: "worker N (pid P)" or its address.
    public var name: String
    /// Its machine and process.
    public var host: String
    public var pid: Int32
    /// Whether it ran on the controller's machine.
    public var sameMachine: Bool
    /// Connections it was given.
    public var connections: Int
    /// Connections it authenticated in the connect phase.
    public var authenticated: Int
    /// CPU seconds over the measured part.
    public var cpuSeconds: Double?
    /// Its resident memory at the end.
    public var residentBytes: Int?
    /// The scheduling policy of its client threads, as it reported it.
    public var clientScheduling: ClientScheduling?

    /// Creates figures.
    public init(
        name: String,
        host: String,
        pid: Int32,
        sameMachine: Bool,
        connections: Int,
        authenticated: Int,
        cpuSeconds: Double?,
        residentBytes: Int?,
        clientScheduling: ClientScheduling? = nil
    ) {
        self.name = name
        self.host = host
        self.pid = pid
        self.sameMachine = sameMachine
        self.connections = connections
        self.authenticated = authenticated
        self.cpuSeconds = cpuSeconds
        self.residentBytes = residentBytes
        self.clientScheduling = clientScheduling
    }
}
