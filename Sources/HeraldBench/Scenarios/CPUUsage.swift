import HeraldCore

/// CPU seconds each side spent over a measured part, and how long it lasted.
struct CPUUsage: Sendable {
    /// The start of a measured part.
    struct Mark: Sendable {
        var instant: ContinuousClock.Instant
        var server: Double?
        var serverThreads: [ThreadCPU]
        var agents: [AgentSnapshot]
        var controller: Double?
        var controllerThreads: [ThreadCPU]
    }

    var seconds: Double
    var server: Double?
    /// Per agent, in fleet order.
    var agents: [Double?]
    var controller: Double?
    /// The server's busiest thread over the part.
    var serverThread: BusiestThread?
    /// The busiest thread of any agent or of the controller.
    var clientThread: BusiestThread?

    /// Agents' and controller's CPU seconds, nil if any agent did not tell.
    var clients: Double? {
        var total = self.controller ?? 0
        for agent in self.agents {
            guard let agent else { return nil }
            total += agent
        }
        return total
    }

    /// Nothing measured.
    static let zero = CPUUsage(seconds: 0, server: nil, agents: [], controller: nil)

    private init(seconds: Double, server: Double?, agents: [Double?], controller: Double?) {
        self.seconds = seconds
        self.server = server
        self.agents = agents
        self.controller = controller
    }

    /// The usage between `mark` and now, from readings taken now.
    init(
        since mark: Mark,
        server: Double?,
        serverThreads: [ThreadCPU],
        agents: [AgentSnapshot],
        agentNames: [String],
        controller: Double?,
        controllerThreads: [ThreadCPU]
    ) {
        let elapsed = ContinuousClock.now - mark.instant
        let seconds = elapsed.timeInterval
        self.seconds = seconds
        self.server = Self.difference(server, mark.server)
        self.agents = zip(agents, mark.agents).map { Self.difference($0.cpuSeconds, $1.cpuSeconds) }
        self.controller = Self.difference(controller, mark.controller)
        self.serverThread = ThreadCPU.busiest(from: mark.serverThreads, to: serverThreads).map {
            BusiestThread(process: "server", thread: $0.name, cores: seconds > 0 ? $0.seconds / seconds : 0)
        }
        var candidates: [BusiestThread] = []
        if let busiest = ThreadCPU.busiest(from: mark.controllerThreads, to: controllerThreads) {
            candidates.append(
                BusiestThread(process: "controller", thread: busiest.name, cores: busiest.seconds / max(seconds, 1e-9)))
        }
        for (index, (end, start)) in zip(agents, mark.agents).enumerated() {
            guard let busiest = ThreadCPU.busiest(from: start.threads, to: end.threads) else { continue }
            let name = index < agentNames.count ? agentNames[index] : "agent \(index + 1)"
            candidates.append(
                BusiestThread(process: name, thread: busiest.name, cores: busiest.seconds / max(seconds, 1e-9)))
        }
        self.clientThread = candidates.max { $0.cores < $1.cores }
    }

    private static func difference(_ end: Double?, _ start: Double?) -> Double? {
        guard let end, let start else { return nil }
        return max(0, end - start)
    }
}
