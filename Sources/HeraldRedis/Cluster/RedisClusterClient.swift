import HeraldRESP
import Logging
import NIOCore
import NIOPosix

/// A client for a Redis Cluster: one ``RedisClient`` pool per primary, each command sent to
/// the primary that serves its slot.
///
/// The slot map is read from the cluster (`CLUSTER SHARDS`, or `CLUSTER SLOTS` before Redis 7)
/// on first use, then periodically. A `MOVED` reply moves the slot in the map at once, sends
/// the command again to the named node and prompts a fresh read of the map in the background;
/// an `ASK` reply sends the command once to the named node, after `ASKING`, and leaves the map
/// as it is. A command redirected more than `maximumRedirects` times fails with
/// `tooManyRedirects`. A node that cannot be reached prompts a fresh read of the map; commands
/// that could not be sent to it are sent again where the new map says, the others fail (as with
/// ``RedisClient``, a command that may have reached a server is never sent twice). A command
/// the cluster refused without running it, `CLUSTERDOWN` while a failover is under way or
/// `TRYAGAIN` while its keys' slot migrates, is sent again after a short backoff, as many
/// times as a redirect would be, where the map says by then.
public actor RedisClusterClient {
    /// The cluster and the client's settings.
    public nonisolated let configuration: RedisClusterConfiguration
    private let transport: any RedisClusterTransport
    private let logger: Logger
    private var slotMap: RedisClusterSlotMap?
    private var refreshTask: Task<RedisClusterSlotMap, any Error>?
    private var lastRefresh: ContinuousClock.Instant?
    private var periodicRefresh: Task<Void, Never>?
    private var isClosed = false

    /// Creates a client; nothing connects until the first command.
    public init(
        configuration: RedisClusterConfiguration,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger = Logger(label: "herald.redis")
    ) {
        let transport = RedisClusterNodePool(configuration: configuration.node, eventLoopGroup: eventLoopGroup, logger: logger)
        self.init(configuration: configuration, transport: transport, logger: logger)
    }

    /// Creates a client for `redis+cluster://[user:password@]host:port[,host:port…]`.
    public init(
        url: String,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger = Logger(label: "herald.redis")
    ) throws(RedisClientError) {
        self.init(configuration: try RedisClusterConfiguration(url: url), eventLoopGroup: eventLoopGroup, logger: logger)
    }

    init(configuration: RedisClusterConfiguration, transport: any RedisClusterTransport, logger: Logger) {
        self.configuration = configuration
        self.transport = transport
        self.logger = logger
    }

    /// Sends one command to the primary that serves the slot of its argument at `keyAt`
    /// (`1` for `GET key`), and returns its reply.
    ///
    /// - Throws: ``RedisClientError``, as ``RedisClient/send(_:)`` does, and `tooManyRedirects`
    ///   or `slotNotServed`.
    public func send(_ command: RESPCommand, keyAt index: Int) async throws -> RESPToken {
        try await self.send(RedisClusterCommand(command, keyAt: index))
    }

    /// Sends one command to the primary that serves its slot, and returns its reply.
    ///
    /// - Throws: ``RedisClientError``, as ``RedisClient/send(_:)`` does, and `tooManyRedirects`
    ///   or `slotNotServed`.
    public func send(_ command: RedisClusterCommand) async throws -> RESPToken {
        let results = try await self.pipeline([command])
        guard let result = results.first else { throw RedisClientError(.unexpectedReply) }
        return try result.get()
    }

    /// Sends the commands, split into one pipeline per primary, and returns each one's reply or
    /// error in the order of `commands`.
    ///
    /// Commands for the same primary keep their order; commands for different primaries run
    /// concurrently and have no order between them.
    /// - Throws: ``RedisClientError`` when the slot map cannot be read at all, or the client is closed.
    public func pipeline(_ commands: [RedisClusterCommand]) async throws -> [Result<RESPToken, RedisClientError>] {
        guard !self.isClosed else { throw RedisClientError(.clientClosed) }
        guard !commands.isEmpty else { return [] }
        var map = try await self.currentSlotMap()
        var results = [Result<RESPToken, RedisClientError>?](repeating: nil, count: commands.count)
        var pending: [Attempt] = []
        for index in commands.indices {
            if let node = Self.route(commands[index], in: map) {
                pending.append(Attempt(index: index, node: node, asking: false, redirects: 0))
            } else {
                results[index] = .failure(Self.notServed(commands[index]))
            }
        }
        var retryRound = 0
        while !pending.isEmpty {
            let batches = Dictionary(grouping: pending) { Destination(node: $0.node, asking: $0.asking) }
            let outcomes = await self.send(batches, commands: commands)
            pending = []
            var unreachable: [Attempt] = []
            var refused: [Attempt] = []
            var moved = false
            for (destination, outcome) in outcomes {
                guard let attempts = batches[destination] else { continue }
                switch outcome {
                case .success(let replies):
                    for (attempt, reply) in zip(attempts, replies) {
                        if case .failure(let error) = reply, RedisClusterRefusal(error) != nil,
                            attempt.redirects < self.configuration.maximumRedirects
                        {
                            refused.append(attempt)
                            continue
                        }
                        guard case .failure(let error) = reply, let redirect = RedisClusterRedirect(error, origin: destination.node) else {
                            results[attempt.index] = reply
                            continue
                        }
                        guard attempt.redirects < self.configuration.maximumRedirects else {
                            results[attempt.index] = .failure(Self.tooManyRedirects(commands[attempt.index], last: redirect, count: attempt.redirects + 1))
                            continue
                        }
                        if redirect.kind == .moved {
                            self.slotMap?.assign(slot: redirect.slot, to: redirect.node)
                            moved = true
                        }
                        pending.append(Attempt(index: attempt.index, node: redirect.node, asking: redirect.kind == .ask, redirects: attempt.redirects + 1))
                    }
                case .failure(let error):
                    self.logger.debug("A Redis Cluster node could not be reached.", metadata: ["node": "\(destination.node)", "error": "\(error)"])
                    for attempt in attempts {
                        // Only a command that was never sent may be sent again.
                        if error.code == .connectFailed, attempt.redirects < self.configuration.maximumRedirects {
                            unreachable.append(attempt)
                        } else {
                            results[attempt.index] = .failure(error)
                        }
                    }
                    if error.code != .connectFailed { self.refreshInBackground() }
                }
            }
            if moved { self.refreshInBackground() }
            if !refused.isEmpty {
                // The cluster ran none of these: wait for it to settle, then route them by the map of then.
                let delay = self.configuration.node.backoff.delay(afterAttempt: retryRound)
                retryRound += 1
                self.logger.debug(
                    "The Redis Cluster refused commands for now; sending them again.",
                    metadata: ["commands": "\(refused.count)", "delay_ms": "\(delay.nanoseconds / 1_000_000)"])
                try? await Task.sleep(nanoseconds: UInt64(max(delay.nanoseconds, 0)))
                map = (try? await self.refresh(force: false)) ?? self.slotMap ?? map
                for attempt in refused {
                    if let node = Self.route(commands[attempt.index], in: map) {
                        pending.append(Attempt(index: attempt.index, node: node, asking: false, redirects: attempt.redirects + 1))
                    } else {
                        results[attempt.index] = .failure(Self.notServed(commands[attempt.index]))
                    }
                }
            }
            if !unreachable.isEmpty {
                let down = Set(unreachable.map(\.node))
                map = (try? await self.refresh(force: false, avoiding: down)) ?? self.slotMap ?? map
                for attempt in unreachable {
                    if let node = Self.route(commands[attempt.index], in: map), node != attempt.node {
                        pending.append(Attempt(index: attempt.index, node: node, asking: false, redirects: attempt.redirects + 1))
                    } else {
                        results[attempt.index] = .failure(
                            RedisClientError(.connectFailed, message: "\(attempt.node), which serves the command \(commands[attempt.index].command.name), could not be reached")
                        )
                    }
                }
            }
        }
        return results.map { $0 ?? .failure(RedisClientError(.unexpectedReply)) }
    }

    /// The slot map, read from the cluster when the client has none yet.
    ///
    /// - Throws: ``RedisClientError``: `slotNotServed` when no node gave the map, `clientClosed`.
    public func currentSlotMap() async throws -> RedisClusterSlotMap {
        guard !self.isClosed else { throw RedisClientError(.clientClosed) }
        if let map = self.slotMap { return map }
        return try await self.refresh(force: true)
    }

    /// Reads the slot map from the cluster now (waiting for a read already under way instead),
    /// asking the nodes in `avoiding` (just found unreachable, say) only after the others.
    ///
    /// - Throws: ``RedisClientError``: `slotNotServed` when no node gave the map, `clientClosed`.
    @discardableResult
    public func refreshSlotMap(avoiding: Set<RedisClusterNode> = []) async throws -> RedisClusterSlotMap {
        guard !self.isClosed else { throw RedisClientError(.clientClosed) }
        return try await self.refresh(force: true, avoiding: avoiding)
    }

    /// Closes every connection, once the commands already sent have their replies.
    public func close() async {
        self.isClosed = true
        self.periodicRefresh?.cancel()
        self.periodicRefresh = nil
        self.refreshTask?.cancel()
        await self.transport.close()
    }

    // MARK: Routing

    /// One command on its way: where it goes next and how many redirects it has followed.
    private struct Attempt {
        var index: Int
        var node: RedisClusterNode
        var asking: Bool
        var redirects: Int
    }

    private struct Destination: Hashable {
        var node: RedisClusterNode
        var asking: Bool
    }

    private static func route(_ command: RedisClusterCommand, in map: RedisClusterSlotMap) -> RedisClusterNode? {
        guard let slot = command.slot else { return map.primaries.randomElement() }
        return map.primary(forSlot: slot)
    }

    /// Sends each batch to its node, concurrently.
    private func send(
        _ batches: [Destination: [Attempt]],
        commands: [RedisClusterCommand]
    ) async -> [(Destination, Result<[Result<RESPToken, RedisClientError>], RedisClientError>)] {
        let transport = self.transport
        return await withTaskGroup(of: (Destination, Result<[Result<RESPToken, RedisClientError>], RedisClientError>).self) { group in
            for (destination, attempts) in batches {
                let batch = attempts.map { commands[$0.index].command }
                group.addTask {
                    do {
                        let replies = try await transport.pipeline(batch, asking: destination.asking, on: destination.node)
                        guard replies.count == batch.count else {
                            return (destination, .failure(RedisClientError(.unexpectedReply, message: "\(destination.node) answered \(replies.count) of \(batch.count) commands")))
                        }
                        return (destination, .success(replies))
                    } catch let error as RedisClientError {
                        return (destination, .failure(error))
                    } catch {
                        return (destination, .failure(RedisClientError(.connectionClosed, message: "\(error)")))
                    }
                }
            }
            var outcomes: [(Destination, Result<[Result<RESPToken, RedisClientError>], RedisClientError>)] = []
            for await outcome in group {
                outcomes.append(outcome)
            }
            return outcomes
        }
    }

    private static func notServed(_ command: RedisClusterCommand) -> RedisClientError {
        RedisClientError(.slotNotServed, message: "no node serves slot \(command.slot ?? -1), needed by the command \(command.command.name)")
    }

    private static func tooManyRedirects(_ command: RedisClusterCommand, last: RedisClusterRedirect, count: Int) -> RedisClientError {
        let kind = last.kind == .moved ? "MOVED" : "ASK"
        return RedisClientError(
            .tooManyRedirects,
            message: "the command \(command.command.name) was redirected \(count) times, last by \(kind) to \(last.node) for slot \(last.slot)"
        )
    }

    // MARK: The slot map

    /// Reads the map in the background when no read is under way and the last one is not too recent.
    private func refreshInBackground() {
        guard self.refreshTask == nil, !self.isClosed else { return }
        Task { _ = try? await self.refresh(force: false) }
    }

    /// Reads the slot map, once at a time: a caller that arrives during a read waits for it.
    /// Unless `force`d, a map read less than `minimumRefreshInterval` ago is kept. The nodes
    /// in `avoiding` (just found unreachable) are asked last.
    private func refresh(force: Bool, avoiding: Set<RedisClusterNode> = []) async throws -> RedisClusterSlotMap {
        if let task = self.refreshTask { return try await task.value }
        if !force, let map = self.slotMap, let last = self.lastRefresh,
            last.duration(to: .now) < .nanoseconds(self.configuration.minimumRefreshInterval.nanoseconds)
        {
            return map
        }
        var candidates = self.slotMap?.primaries ?? []
        candidates += self.configuration.seeds.filter { !candidates.contains($0) }
        candidates = candidates.filter { !avoiding.contains($0) } + candidates.filter { avoiding.contains($0) }
        let transport = self.transport
        let logger = self.logger
        let task = Task { try await Self.readSlotMap(from: candidates, transport: transport, logger: logger) }
        self.refreshTask = task
        defer {
            self.refreshTask = nil
            self.lastRefresh = .now
        }
        let map = try await task.value
        self.slotMap = map
        self.startPeriodicRefresh()
        return map
    }

    private func startPeriodicRefresh() {
        guard self.periodicRefresh == nil, !self.isClosed else { return }
        let interval = UInt64(max(self.configuration.refreshInterval.nanoseconds, 1_000_000))
        self.periodicRefresh = Task { [weak self] in
            while !Task.isCancelled {
                try? await Task.sleep(nanoseconds: interval)
                guard !Task.isCancelled, let self else { return }
                _ = try? await self.refresh(force: true)
            }
        }
    }

    /// Asks each candidate in turn for the slot map until one answers.
    private static func readSlotMap(
        from candidates: [RedisClusterNode],
        transport: any RedisClusterTransport,
        logger: Logger
    ) async throws -> RedisClusterSlotMap {
        var lastError: (any Error)?
        for node in candidates {
            do {
                let shards = try await transport.pipeline([RESPCommand("CLUSTER", "SHARDS")], asking: false, on: node)
                switch shards.first {
                case .success(let reply):
                    return try RedisClusterSlotMap(clusterShardsReply: reply, origin: node)
                case .failure(let error) where error.code == .commandError:
                    // Before Redis 7: CLUSTER SHARDS is an unknown subcommand.
                    let slots = try await transport.pipeline([RESPCommand("CLUSTER", "SLOTS")], asking: false, on: node)
                    guard let reply = try slots.first?.get() else { throw RedisClientError(.unexpectedReply) }
                    return try RedisClusterSlotMap(clusterSlotsReply: reply, origin: node)
                case .failure(let error):
                    throw error
                case nil:
                    throw RedisClientError(.unexpectedReply)
                }
            } catch {
                logger.debug("A Redis Cluster node did not give the slot map.", metadata: ["node": "\(node)", "error": "\(error)"])
                lastError = error
            }
        }
        throw RedisClientError(
            .slotNotServed,
            message: "no node of the cluster gave its slot map (\(candidates.map(\.description).joined(separator: ", ")))"
                + (lastError.map { "; the last error: \($0)" } ?? "")
        )
    }
}
