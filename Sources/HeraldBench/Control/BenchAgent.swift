import Logging
import NIOConcurrencyHelpers
import NIOCore

/// The worker side of the distributed bench: carries out one controller's commands with a
/// ``BenchClientPool``, and answers each with one ``AgentReply``.
///
/// One agent serves one controller connection (`herald-bench agent --stdio` has exactly one;
/// `--listen` makes one per accepted connection). When the controller goes away, the pool
/// is closed.
public final class BenchAgent: Sendable {
    private let clientThreads: Int
    private let clientScheduling: ClientScheduling
    private let logger: Logger
    /// The current pool; replaced by each start.
    private let pool = NIOLockedValueBox<BenchClientPool?>(nil)

    /// Creates an agent whose pools run their clients on `clientThreads` threads each, under
    /// `clientScheduling`.
    public init(clientThreads: Int = System.coreCount, clientScheduling: ClientScheduling = .batch, logger: Logger) {
        self.clientThreads = clientThreads
        self.clientScheduling = clientScheduling
        self.logger = logger
    }

    /// Carries out `command` and returns the answer.
    public func handle(_ command: AgentCommand) async -> AgentEvent {
        switch command {
        case .start(let target, let plan):
            let pool: BenchClientPool
            do {
                pool = try BenchClientPool(
                    target: target,
                    plan: plan,
                    threads: self.clientThreads,
                    scheduling: self.clientScheduling,
                    logger: self.logger
                )
            } catch {
                return .failed("\(error)")
            }
            let previous = self.pool.withLockedValue { current in
                defer { current = pool }
                return current
            }
            if let previous { await previous.close() }
            return .connected(await pool.connectAll())
        case .snapshot:
            return .snapshot(
                AgentSnapshot(
                    pool: await self.pool.withLockedValue { $0 }?.currentSnapshot() ?? PoolSnapshot(),
                    cpuSeconds: ProcessStats.cpuSeconds(),
                    residentBytes: ProcessStats.residentBytes(),
                    threads: ProcessStats.threads()
                )
            )
        case .reset:
            self.pool.withLockedValue { $0 }?.resetLatencies()
            return .reset
        case .drop:
            guard let pool = self.pool.withLockedValue({ $0 }) else { return .failed("drop before start") }
            await pool.dropAll()
            return .dropped
        case .reconnect(let rate):
            guard let pool = self.pool.withLockedValue({ $0 }) else { return .failed("reconnect before start") }
            return .reconnected(await pool.reconnectAll(rate: rate))
        case .stop:
            await self.close()
            return .stopped
        }
    }

    /// Closes the pool, if any.
    public func close() async {
        let pool = self.pool.withLockedValue { current in
            defer { current = nil }
            return current
        }
        if let pool { await pool.close() }
    }

    /// Serves one controller on `channel` (which yields one line per read, see ``JSONLineDecoder``)
    /// until the controller closes its side; then closes the pool.
    ///
    /// Commands that wait on the network run concurrently, so snapshots for the progress line
    /// are answered while a start is still connecting.
    public func serve(_ channel: NIOAsyncChannel<ByteBuffer, ByteBuffer>) async throws {
        try await channel.executeThenClose { inbound, outbound in
            // Answers come from several tasks; one writer keeps the lines whole and in order.
            let (replies, replyContinuation) = AsyncStream.makeStream(of: AgentReply.self)
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                tasks.addTask {
                    for await reply in replies {
                        try await outbound.write(try AgentWire.encode(reply))
                    }
                }
                replyContinuation.yield(
                    AgentReply(id: 0, event: .hello(.current(clientScheduling: self.clientScheduling))))
                do {
                    try await withThrowingDiscardingTaskGroup { commands in
                        for try await line in inbound {
                            let request: AgentRequest
                            do {
                                request = try AgentWire.decode(AgentRequest.self, from: line)
                            } catch {
                                replyContinuation.yield(
                                    AgentReply(id: 0, event: .failed("unreadable command: \(error)")))
                                continue
                            }
                            self.logger.debug("bench agent command", metadata: ["agent.op": "\(request.command.op)"])
                            if request.command.isImmediate {
                                replyContinuation.yield(
                                    AgentReply(id: request.id, event: await self.handle(request.command)))
                            } else {
                                commands.addTask {
                                    let event = await self.handle(request.command)
                                    replyContinuation.yield(AgentReply(id: request.id, event: event))
                                }
                            }
                        }
                    }
                } catch {
                    self.logger.debug("bench agent connection failed", metadata: ["error": "\(error)"])
                }
                await self.close()
                replyContinuation.finish()
                try await tasks.waitForAll()
            }
        }
    }
}
