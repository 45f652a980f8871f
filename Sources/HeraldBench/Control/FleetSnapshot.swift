/// Every agent's snapshot at one moment, and their sum.
public struct FleetSnapshot: Sendable {
    /// Each agent's own snapshot, in fleet order.
    public var agents: [AgentSnapshot]
    /// All pools' counters and histograms merged.
    public var pool: PoolSnapshot
    /// When it was taken (monotonic), for rates between two snapshots.
    public var takenAt: ContinuousClock.Instant

    /// Merges `agents`.
    public init(agents: [AgentSnapshot], takenAt: ContinuousClock.Instant = .now) {
        self.agents = agents
        var pool = PoolSnapshot()
        for agent in agents { pool.merge(agent.pool) }
        self.pool = pool
        self.takenAt = takenAt
    }

    /// CPU seconds of all agents, if every one told it.
    public var cpuSeconds: Double? {
        var total = 0.0
        for agent in self.agents {
            guard let seconds = agent.cpuSeconds else { return nil }
            total += seconds
        }
        return total
    }

    /// Pushes of `kind` received so far.
    public func pushes(_ kind: String) -> Int {
        self.pool.pushes[kind] ?? 0
    }
}
