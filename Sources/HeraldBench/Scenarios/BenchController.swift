import Foundation
import HeraldCore
import Logging
import NIOConcurrencyHelpers
import NIOCore

/// Runs one scenario: starts the workers (or connects to the agents), drives the scenario,
/// prints the progress line once a second, and returns the report.
public struct BenchController: Sendable {
    let settings: BenchSettings
    let target: BenchTarget
    let adminKey: String?
    let apis: [String]
    let redisCost: RedisCost?
    let agentExecutable: URL?
    let group: any EventLoopGroup
    let logger: Logger
    let progress: @Sendable (String) -> Void

    /// - Parameters:
    ///   - adminKey: for the server's `GET /v1/stats`; without it, memory comes from /proc only
    ///     (and a run spread over a cluster cannot tell which node each API belongs to).
    ///   - apis: the APIs the pushes go to, round-robin (empty: the target's).
    ///   - redis: the cluster's Redis, whose command counts the run reads around each part.
    ///   - agentExecutable: the `herald-bench` binary the local workers run (`agent --stdio`).
    ///   - progress: gets the progress line once a second.
    public init(
        settings: BenchSettings,
        target: BenchTarget,
        adminKey: String?,
        apis: [String] = [],
        redis: RedisStatsReader? = nil,
        agentExecutable: URL?,
        group: any EventLoopGroup,
        logger: Logger,
        progress: @escaping @Sendable (String) -> Void
    ) {
        self.settings = settings
        self.target = target
        self.adminKey = adminKey
        self.apis = apis.isEmpty ? [target.apiBaseURL] : apis
        self.redisCost = redis.map { RedisCost(reader: $0, group: group) }
        self.agentExecutable = agentExecutable
        self.group = group
        self.logger = logger
        self.progress = progress
    }

    /// Runs the scenario and returns what it found.
    public func run() async throws -> BenchReport {
        if let problem = self.settings.problem { throw BenchError(problem) }
        if self.settings.transport == .webSocket && self.target.webSocketURL == nil {
            throw BenchError("no WebSocket endpoint: give --ws ws://host:port/ws")
        }
        let startedAt = Date()
        var crossing: CrossNodeTally?
        if self.settings.viaDispatch {
            crossing = CrossNodeTally(layout: try await self.layout())
        }
        let fleet = try await BenchFleet.open(
            localWorkers: self.settings.workers,
            executable: self.agentExecutable,
            remoteAgents: self.settings.agents,
            clientScheduling: self.settings.clientScheduling,
            group: self.group,
            logger: self.logger
        )
        do {
            let report = try await self.run(fleet: fleet, crossing: crossing, startedAt: startedAt)
            await fleet.close()
            return report
        } catch {
            await fleet.close()
            throw error
        }
    }

    /// Asks dispatch where every user connects, and each API which node it is.
    private func layout() async throws -> ClusterLayout {
        let dispatched = try await ClusterDispatch.ask(
            api: self.target.apiBaseURL,
            app: self.target.app,
            userPrefix: self.settings.userPrefix,
            users: self.settings.connections,
            group: self.group
        )
        let apiNodeIDs = await self.apiNodeIDs()
        return try ClusterLayout.spread(dispatched: dispatched, apiNodeIDs: apiNodeIDs)
    }

    /// The node behind each API, in the order of `apis`.
    ///
    /// Its own function, never inlined: with this loop inside `layout()`, Swift 6.3.1's
    /// optimizer crashed splitting that throwing async function (a release build failed).
    @inline(never)
    private func apiNodeIDs() async -> [String?] {
        var nodes: [String?] = []
        for api in self.apis {
            nodes.append(await ServerProbe(http: ControlHTTP(baseURL: api), adminKey: self.adminKey, pids: []).node())
        }
        return nodes
    }

    private func run(fleet: BenchFleet, crossing: CrossNodeTally?, startedAt: Date) async throws -> BenchReport {
        let run = ScenarioRun(
            settings: self.settings,
            target: self.target,
            fleet: fleet,
            probe: ServerProbe(
                http: ControlHTTP(baseURL: self.target.apiBaseURL),
                adminKey: self.adminKey,
                pids: self.settings.serverPIDs
            ),
            group: self.group,
            logger: self.logger,
            phaseBox: NIOLockedValueBox("starting"),
            apis: self.apis,
            crossing: crossing,
            redisCost: self.redisCost
        )
        let result = try await withThrowingTaskGroup(of: ScenarioResult?.self) { group in
            group.addTask {
                try await self.reportProgress(run)
                return nil
            }
            group.addTask { try await self.scenario(run) }
            defer { group.cancelAll() }
            while let next = try await group.next() {
                if let next { return next }
            }
            throw BenchError("the scenario ended without a result")
        }
        let final = try await fleet.snapshot()
        return self.report(result, fleet: fleet, final: final, crossing: crossing, startedAt: startedAt)
    }

    private func scenario(_ run: ScenarioRun) async throws -> ScenarioResult {
        switch self.settings.scenario {
        case .connect: try await ConnectScenario.run(run)
        case .idle: try await IdleScenario.run(run)
        case .unicast: try await UnicastScenario.run(run, qos: 0)
        case .qos1: try await UnicastScenario.run(run, qos: 1)
        case .broadcast: try await FanOutScenario.run(run, kind: .broadcast)
        case .topic: try await FanOutScenario.run(run, kind: .topic)
        case .mixed: try await MixedScenario.run(run)
        case .storm: try await StormScenario.run(run)
        }
    }

    /// The progress line, once a second until cancelled. A failed snapshot skips a line.
    private func reportProgress(_ run: ScenarioRun) async throws {
        let start = ContinuousClock.now
        var previous: FleetSnapshot?
        while true {
            try await Task.sleep(for: .seconds(1))
            guard let current = try? await run.fleet.snapshot() else { continue }
            let elapsed = current.takenAt - start
            let interval = previous.map { current.takenAt - $0.takenAt } ?? .zero
            self.progress(
                ProgressLine.render(
                    elapsed: elapsed.timeInterval,
                    phase: run.phaseBox.withLockedValue { $0 },
                    connections: self.settings.connections,
                    current: current.pool,
                    previous: previous?.pool,
                    interval: interval.timeInterval
                )
            )
            previous = current
        }
    }

    private func report(
        _ result: ScenarioResult,
        fleet: BenchFleet,
        final: FleetSnapshot,
        crossing: CrossNodeTally?,
        startedAt: Date
    ) -> BenchReport {
        let bootID = ProcessStats.bootID()
        let plans = self.settings.plans(agents: fleet.count, connectRate: 0, topics: [], acknowledge: true)
        var agents: [AgentFigures] = []
        for (index, info) in fleet.infos.enumerated() {
            agents.append(
                AgentFigures(
                    name: fleet.links[index].name,
                    host: info.host,
                    pid: info.pid,
                    sameMachine: bootID != nil && info.bootID == bootID,
                    connections: plans[index].connections,
                    authenticated: index < final.agents.count ? final.agents[index].pool.authenticated : 0,
                    cpuSeconds: index < result.usage.agents.count ? result.usage.agents[index] : nil,
                    residentBytes: index < final.agents.count ? final.agents[index].residentBytes : nil,
                    clientScheduling: info.clientScheduling
                )
            )
        }
        let sameMachine = !self.settings.serverPIDs.isEmpty && agents.allSatisfy(\.sameMachine)
        let bottleneck = Bottleneck.judge(
            wallSeconds: result.usage.seconds,
            serverCPU: result.usage.server,
            clientCPU: result.usage.clients,
            sameMachine: sameMachine,
            machineCores: ProcessStats.coreCount,
            serverThread: result.usage.serverThread,
            clientThread: result.usage.clientThread
        )
        var endpoint =
            self.settings.transport == .webSocket
            ? (self.target.webSocketURL ?? "?") : "\(self.target.tcpHost):\(self.target.tcpPort)"
        if let layout = crossing?.layout {
            endpoint = "\(layout.endpoints.count) node\(layout.endpoints.count == 1 ? "" : "s") by dispatch"
        }
        return BenchReport(
            scenario: self.settings.scenario,
            startedAt: startedAt.formatted(.iso8601),
            settings: self.settings,
            api: self.apis.joined(separator: ","),
            endpoint: endpoint,
            app: self.target.app,
            host: ProcessStats.hostName(),
            cores: ProcessStats.coreCount,
            agents: agents,
            connect: result.connect,
            figures: result.figures + (self.redisCost?.figures ?? []),
            latency: result.latency,
            http: result.http,
            server: result.server,
            controllerCPUSeconds: result.usage.controller,
            measuredSeconds: result.usage.seconds,
            bottleneck: bottleneck,
            clients: final.pool.counters,
            notes: result.notes + (self.redisCost?.notes ?? []),
            cluster: crossing.map { ClusterFigures(layout: $0.layout, counts: result.crossNode) }
        )
    }
}
