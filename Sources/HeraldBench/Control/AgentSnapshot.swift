/// An agent's counters and its own resource use, the answer to ``AgentCommand/snapshot``.
public struct AgentSnapshot: Sendable, Codable {
    /// The pool's counters and latency histograms (empty before the first start).
    public var pool: PoolSnapshot
    /// The agent process's CPU time so far (user plus system), if known.
    public var cpuSeconds: Double?
    /// The agent process's resident memory, if known.
    public var residentBytes: Int?
    /// CPU time of each of the agent's threads, to find one busy on its own.
    public var threads: [ThreadCPU]

    /// Creates a snapshot.
    public init(pool: PoolSnapshot, cpuSeconds: Double?, residentBytes: Int?, threads: [ThreadCPU] = []) {
        self.pool = pool
        self.cpuSeconds = cpuSeconds
        self.residentBytes = residentBytes
        self.threads = threads
    }

    private enum CodingKeys: String, CodingKey {
        case pool, cpuSeconds, residentBytes, threads
    }

    /// Decodes a snapshot; `threads` may be missing.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.pool = try container.decode(PoolSnapshot.self, forKey: .pool)
        self.cpuSeconds = try container.decodeIfPresent(Double.self, forKey: .cpuSeconds)
        self.residentBytes = try container.decodeIfPresent(Int.self, forKey: .residentBytes)
        self.threads = try container.decodeIfPresent([ThreadCPU].self, forKey: .threads) ?? []
    }
}
