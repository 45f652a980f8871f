#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Who an agent is, from its ``AgentEvent/hello(_:)``.
public struct AgentInfo: Sendable, Codable, Hashable {
    /// The agent's process id.
    public var pid: Int32
    /// Its machine's host name.
    public var host: String
    /// Its machine's kernel boot id: equal to the controller's when both run on one machine,
    /// which is when CPU times of agents and server can be compared.
    public var bootID: String?
    /// Cores on its machine.
    public var cores: Int
    /// Its open-file limit: the most connections it can hold, less a few.
    public var openFileLimit: Int?
    /// The scheduling policy of its client threads (absent from agents older than the field).
    public var clientScheduling: ClientScheduling?

    /// Creates an info.
    public init(
        pid: Int32,
        host: String,
        bootID: String?,
        cores: Int,
        openFileLimit: Int?,
        clientScheduling: ClientScheduling? = nil
    ) {
        self.pid = pid
        self.host = host
        self.bootID = bootID
        self.cores = cores
        self.openFileLimit = openFileLimit
        self.clientScheduling = clientScheduling
    }

    /// This process, whose client threads run under `clientScheduling`.
    public static func current(clientScheduling: ClientScheduling) -> AgentInfo {
        AgentInfo(
            pid: Int32(getpid()),
            host: ProcessStats.hostName(),
            bootID: ProcessStats.bootID(),
            cores: ProcessStats.coreCount,
            openFileLimit: ProcessStats.openFileLimit(),
            clientScheduling: clientScheduling
        )
    }
}
