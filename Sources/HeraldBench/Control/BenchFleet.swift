import Foundation
import Logging
import NIOCore
import NIOPosix

/// Every agent a controller drives: local worker processes it started and agents elsewhere
/// it connected to. Commands go to all of them at once; answers come back in agent order.
public final class BenchFleet: Sendable {
    /// The agents, in the order plans are handed out.
    public let links: [AgentLink]
    /// Each agent's hello, in the same order.
    public let infos: [AgentInfo]
    private let processes: [LocalAgentProcess]

    private init(links: [AgentLink], infos: [AgentInfo], processes: [LocalAgentProcess]) {
        self.links = links
        self.infos = infos
        self.processes = processes
    }

    /// Starts `localWorkers` processes of `executable` (`bench agent --stdio`, their client
    /// threads under `clientScheduling`) and connects to each of `remoteAgents` (`host:port`,
    /// which chose their own scheduling), then waits for every hello.
    public static func open(
        localWorkers: Int,
        executable: URL?,
        remoteAgents: [String],
        clientScheduling: ClientScheduling = .batch,
        group: any EventLoopGroup,
        logger: Logger
    ) async throws -> BenchFleet {
        var links: [AgentLink] = []
        var processes: [LocalAgentProcess] = []
        do {
            if localWorkers > 0 {
                guard let executable else { throw BenchError("local workers need the herald-bench executable") }
                // Local workers share this machine's cores: their client threads together are
                // one per core, not one per core each.
                let threads = max(1, System.coreCount / localWorkers)
                for index in 1...localWorkers {
                    let process = try LocalAgentProcess(
                        executable: executable,
                        arguments: [
                            "agent", "--stdio", "--threads", "\(threads)",
                            "--client-scheduling", clientScheduling.rawValue,
                            "--log-level", logger.logLevel.rawValue,
                        ]
                    )
                    processes.append(process)
                    let name = "worker \(index) (pid \(process.pid))"
                    let link = try await NIOPipeBootstrap(group: group)
                        .takingOwnershipOfDescriptors(input: process.readDescriptor, output: process.writeDescriptor) {
                            channel in
                            channel.eventLoop.makeCompletedFuture {
                                try Self.makeLink(name: name, channel: channel)
                            }
                        }
                    links.append(link)
                }
            }
            for address in remoteAgents {
                let (host, port) = try Self.parse(agent: address)
                let link: AgentLink
                do {
                    link = try await ClientBootstrap(group: group)
                        .connectTimeout(.seconds(10))
                        .channelOption(.socketOption(.tcp_nodelay), value: 1)
                        .connect(host: host, port: port) { channel in
                            channel.eventLoop.makeCompletedFuture {
                                try Self.makeLink(name: address, channel: channel)
                            }
                        }
                } catch {
                    throw BenchError("cannot reach agent \(address): \(error)")
                }
                links.append(link)
            }
            guard !links.isEmpty else { throw BenchError("no workers and no agents to run the clients") }
            let infos = try await withThrowingTaskGroup(of: (Int, AgentInfo).self) { group in
                for (index, link) in links.enumerated() {
                    group.addTask { (index, try await Self.hello(from: link, timeout: .seconds(30))) }
                }
                var infos = [AgentInfo?](repeating: nil, count: links.count)
                for try await (index, info) in group { infos[index] = info }
                return infos.compactMap { $0 }
            }
            logger.debug("bench fleet ready", metadata: ["fleet.agents": "\(links.count)"])
            return BenchFleet(links: links, infos: infos, processes: processes)
        } catch {
            for link in links { await link.close() }
            for process in processes { await process.finish(timeout: .seconds(1)) }
            throw error
        }
    }

    /// How many agents there are.
    public var count: Int { self.links.count }

    /// Starts one pool per agent, `plans[i]` on agent `i`, and returns when all have connected.
    public func start(target: BenchTarget, plans: [ClientPlan]) async throws -> [ConnectOutcome] {
        precondition(plans.count == self.links.count, "one plan per agent")
        return try await self.each { index, link in
            guard case .connected(let outcome) = try await link.request(.start(target: target, plan: plans[index]))
            else { throw AgentLink.Failure(agent: link.name, message: "answered start with something else") }
            return outcome
        }
    }

    /// Every agent's snapshot.
    public func snapshots() async throws -> [AgentSnapshot] {
        try await self.each { _, link in
            guard case .snapshot(let snapshot) = try await link.request(.snapshot) else {
                throw AgentLink.Failure(agent: link.name, message: "answered snapshot with something else")
            }
            return snapshot
        }
    }

    /// Every agent's pool counters merged into one.
    public func snapshot() async throws -> FleetSnapshot {
        FleetSnapshot(agents: try await self.snapshots())
    }

    /// Clears every agent's latency histograms.
    public func resetLatencies() async throws {
        _ = try await self.each { _, link in try await link.request(.reset) }
    }

    /// Closes every connection of every agent.
    public func drop() async throws {
        _ = try await self.each { _, link in try await link.request(.drop) }
    }

    /// Reconnects every agent's connections, each agent at `rate` per second.
    public func reconnect(rate: Double) async throws -> [ConnectOutcome] {
        try await self.each { _, link in
            guard case .reconnected(let outcome) = try await link.request(.reconnect(rate: rate)) else {
                throw AgentLink.Failure(agent: link.name, message: "answered reconnect with something else")
            }
            return outcome
        }
    }

    /// Stops every pool, closes the links and lets local workers exit.
    public func close() async {
        _ = try? await self.each { _, link in try await link.request(.stop) }
        for link in self.links { await link.close() }
        await withDiscardingTaskGroup { group in
            for process in self.processes {
                group.addTask { await process.finish() }
            }
        }
    }

    // MARK: Helpers

    /// Runs `body` for every agent at once; the results in agent order.
    private func each<Result: Sendable>(
        _ body: @escaping @Sendable (Int, AgentLink) async throws -> Result
    ) async throws -> [Result] {
        try await withThrowingTaskGroup(of: (Int, Result).self) { group in
            for (index, link) in self.links.enumerated() {
                group.addTask { (index, try await body(index, link)) }
            }
            var results = [Result?](repeating: nil, count: self.links.count)
            for try await (index, result) in group { results[index] = result }
            return results.compactMap { $0 }
        }
    }

    private static func makeLink(name: String, channel: any Channel) throws -> AgentLink {
        let link = AgentLink(name: name, channel: channel)
        try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(JSONLineDecoder()))
        try channel.pipeline.syncOperations.addHandler(AgentLinkHandler(link: link))
        return link
    }

    /// `host:port`, the host possibly in brackets (IPv6).
    static func parse(agent: String) throws -> (host: String, port: Int) {
        guard let colon = agent.lastIndex(of: ":"), let port = Int(agent[agent.index(after: colon)...]),
            (1...65_535).contains(port)
        else { throw BenchError("an agent is host:port, not \"\(agent)\"") }
        var host = agent[..<colon]
        if host.hasPrefix("[") && host.hasSuffix("]") { host = host.dropFirst().dropLast() }
        guard !host.isEmpty else { throw BenchError("an agent is host:port, not \"\(agent)\"") }
        return (String(host), port)
    }

    /// The agent's hello, or a failure (and the link closed) after `timeout`.
    private static func hello(from link: AgentLink, timeout: Duration) async throws -> AgentInfo {
        try await withThrowingTaskGroup(of: AgentInfo?.self) { group in
            group.addTask { try await link.info() }
            group.addTask {
                // Cancelled once the hello came: leave the link alone then.
                guard (try? await Task.sleep(for: timeout)) != nil else { return nil }
                // Closing fails the hello wait, so neither task is left behind.
                await link.close()
                return nil
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let info = first else {
                throw BenchError("agent \(link.name) did not say hello within \(timeout)")
            }
            return info
        }
    }
}
