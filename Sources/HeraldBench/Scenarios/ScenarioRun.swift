import Logging
import NIOConcurrencyHelpers
import NIOCore

/// What a scenario works with, and the steps several scenarios share.
struct ScenarioRun: Sendable {
    let settings: BenchSettings
    let target: BenchTarget
    let fleet: BenchFleet
    let probe: ServerProbe
    let group: any EventLoopGroup
    let logger: Logger
    /// What the progress line says the run is doing.
    let phaseBox: NIOLockedValueBox<String>
    /// The APIs the pushes go to, round-robin over the HTTP connections.
    let apis: [String]
    /// In a run spread over a cluster, which node each client is on, and the count of
    /// deliveries that cross nodes (the scenarios count what they push).
    let crossing: CrossNodeTally?
    /// When the run reads the cluster's Redis: its command counts around each part.
    let redisCost: RedisCost?

    /// Sets the phase the progress line shows.
    func phase(_ name: String) {
        self.phaseBox.withLockedValue { $0 = name }
    }

    /// Opens every agent's connections at `rate` per second in all; throws if an agent could
    /// not even start (too many connections for it, say). When the run reads the cluster's
    /// Redis, waits until the nodes have registered the sessions, so that what follows finds
    /// every client in the directory and the figure per AUTH has every command.
    func connect(rate: Double, topics: [String] = [], acknowledge: Bool = true) async throws -> ConnectOutcome {
        self.phase("connecting")
        let plans = self.settings.plans(
            agents: self.fleet.count,
            connectRate: rate,
            topics: topics,
            acknowledge: acknowledge,
            layout: self.crossing?.layout
        )
        let redisBefore = await self.redisCost?.reading()
        let outcomes = try await self.fleet.start(target: self.target, plans: plans)
        var merged = ConnectOutcome()
        for (index, outcome) in outcomes.enumerated() {
            if let error = outcome.error {
                throw BenchError("\(self.fleet.links[index].name) could not connect: \(error)")
            }
            merged.merge(outcome)
        }
        if let redisCost = self.redisCost {
            self.phase("registering")
            let redisAfter = try await redisCost.settle(clients: merged.authenticated)
            redisCost.record(
                "redisCommandsPerAuth", "Redis commands per AUTH", from: redisBefore, to: redisAfter,
                per: Double(merged.authenticated))
            redisCost.noteCommands(during: "the connects", from: redisBefore, to: redisAfter)
        }
        return merged
    }

    /// The nodes the clients are spread over (one when the run is not spread over a cluster).
    var nodes: Int {
        max(1, self.crossing?.layout.endpoints.count ?? 1)
    }

    /// Marks the start of a measured part.
    func mark() async throws -> CPUUsage.Mark {
        let agents = try await self.fleet.snapshots()
        return CPUUsage.Mark(
            instant: .now,
            server: self.probe.cpuSeconds(),
            serverThreads: self.probe.threads(),
            agents: agents,
            controller: ProcessStats.cpuSeconds(),
            controllerThreads: ProcessStats.threads()
        )
    }

    /// CPU spent since `mark`.
    func usage(since mark: CPUUsage.Mark) async throws -> CPUUsage {
        let server = self.probe.cpuSeconds()
        let serverThreads = self.probe.threads()
        let controller = ProcessStats.cpuSeconds()
        let controllerThreads = ProcessStats.threads()
        let agents = try await self.fleet.snapshots()
        return CPUUsage(
            since: mark,
            server: server,
            serverThreads: serverThreads,
            agents: agents,
            agentNames: self.fleet.links.map(\.name),
            controller: controller,
            controllerThreads: controllerThreads
        )
    }

    /// Polls until the clients have received at least `expected` pushes of `kind` more than
    /// `before`, or none arrived for `quiet`, or `timeout` passed. Returns the last snapshot.
    func waitForPushes(
        kind: String,
        before: Int,
        expected: Int,
        quiet: Duration = .seconds(2),
        timeout: Duration = .seconds(60)
    ) async throws -> FleetSnapshot {
        let deadline = ContinuousClock.now + timeout
        var last = try await self.fleet.snapshot()
        var lastChange = ContinuousClock.now
        var lastCount = last.pushes(kind)
        while last.pushes(kind) - before < expected {
            let now = ContinuousClock.now
            if now >= deadline || now - lastChange >= quiet { break }
            try await Task.sleep(for: .milliseconds(50))
            last = try await self.fleet.snapshot()
            if last.pushes(kind) != lastCount {
                lastCount = last.pushes(kind)
                lastChange = .now
            }
        }
        return last
    }

    /// Waits `seconds` (cancellable).
    func hold(seconds: Double) async throws {
        try await Task.sleep(for: .milliseconds(Int64(seconds * 1000)))
    }

    /// Runs `body` with an HTTP load generator on the APIs (round-robin), closed afterwards
    /// whether `body` throws or not: `connections` keep-alive connections (default
    /// `--http-connections`), each keeping `pipelining` requests in flight when it pushes back
    /// to back (default `--pipeline`).
    func withHTTPLoad<T: Sendable>(
        connections: Int? = nil,
        pipelining: Int? = nil,
        _ body: (BenchHTTPLoad) async throws -> T
    ) async throws -> T {
        let load = BenchHTTPLoad(
            apiBaseURLs: self.apis,
            bearer: self.target.secret,
            connections: connections ?? self.settings.httpConnections,
            group: self.group,
            pipelining: pipelining ?? self.settings.pipeline
        )
        do {
            let result = try await body(load)
            await load.close()
            return result
        } catch {
            await load.close()
            throw error
        }
    }
}
