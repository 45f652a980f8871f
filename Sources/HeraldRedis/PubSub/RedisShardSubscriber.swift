import HeraldRESP
import Logging
import NIOCore
import NIOPosix

/// A subscriber to shard channels (`SSUBSCRIBE`, Redis 7 and later) on a Redis Cluster: each
/// channel is subscribed at the primary that serves its slot, over one pub/sub connection per
/// primary it needs, and follows its slot when the slot moves. Messages are delivered as an
/// `AsyncSequence` of ``RedisSubscriberEvent``s.
///
/// A slot moves in a reshard or a failover. The primary that gives it up ends the
/// subscriptions of its channels with an unprompted `sunsubscribe`, or answers `SSUBSCRIBE`
/// with `MOVED`; a primary that dies takes its connection with it. The subscriber then reads
/// the cluster client's slot map again (by the backoff while no primary serves the slot, as
/// while a replica is being promoted) and subscribes at the new owner. A channel that lost its
/// subscription is reported as ``RedisSubscriberEvent/disconnected(_:)``, and once every
/// channel is subscribed again, ``RedisSubscriberEvent/reconnected``: Redis keeps nothing for
/// an absent subscriber, so what was published in between is lost.
///
/// The decisions are made by a state machine without sockets (docs/architecture.md, "The
/// Redis client"); this actor holds the connections and carries them out.
public actor RedisShardSubscriber {
    private typealias Machine = RedisShardSubscriberStateMachine

    private enum Link {
        case connecting(generation: Int, Task<RedisConnection, any Error>)
        case connected(generation: Int, RedisConnection)
    }

    private struct Waiter {
        var channels: [String]
        var continuation: CheckedContinuation<Void, any Error>
    }

    /// Everything the subscriber reports, in order; it finishes when the subscriber is closed.
    public nonisolated let events: AsyncStream<RedisSubscriberEvent>
    private let continuation: AsyncStream<RedisSubscriberEvent>.Continuation
    /// The settings of each connection (credentials, timeouts) and the backoff between reads
    /// of the slot map; host and port are each primary's.
    public nonisolated let configuration: RedisConfiguration
    private let cluster: RedisClusterClient
    private let eventLoopGroup: any EventLoopGroup
    private let logger: Logger

    private var machine: Machine
    private var links: [RedisClusterNode: Link] = [:]
    private var lastGeneration = 0
    private var waiters: [Int: Waiter] = [:]
    private var lastWaiter = 0
    private var mapRead: Task<Void, Never>?
    private var isClosed = false

    /// Creates a subscriber that finds each channel's primary through `cluster`'s slot map and
    /// connects with `configuration` (by default the cluster client's settings for its nodes);
    /// it connects on its first subscription.
    public init(
        cluster: RedisClusterClient,
        configuration: RedisConfiguration? = nil,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger = Logger(label: "herald.redis.subscriber")
    ) {
        var configuration = configuration ?? cluster.configuration.node
        configuration.database = 0
        self.configuration = configuration
        self.cluster = cluster
        self.eventLoopGroup = eventLoopGroup
        self.logger = logger
        self.machine = Machine(maximumRedirects: cluster.configuration.maximumRedirects)
        (self.events, self.continuation) = AsyncStream.makeStream(
            of: RedisSubscriberEvent.self, bufferingPolicy: .unbounded)
    }

    /// Listens to shard channels, each at the primary that serves its slot, and returns once
    /// every one is subscribed there.
    ///
    /// However long that takes: a subscription that meets a failure (no primary serves the
    /// slot, the primary cannot be reached) keeps trying by itself, and reports
    /// ``RedisSubscriberEvent/disconnected(_:)`` then ``RedisSubscriberEvent/reconnected``.
    /// The channels are remembered until the subscriber is closed, also when this throws.
    /// - Throws: ``RedisClientError`` `clientClosed` when the subscriber or its cluster client
    ///   is closed; `CancellationError` when the calling task is cancelled.
    public func ssubscribe(_ channels: [String]) async throws {
        guard !self.isClosed else { throw RedisClientError(.clientClosed) }
        guard !channels.isEmpty else { return }
        self.apply(self.machine.subscribe(channels))
        guard !self.machine.isSubscribed(channels) else { return }
        self.lastWaiter += 1
        let id = self.lastWaiter
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                self.waiters[id] = Waiter(channels: channels, continuation: continuation)
            }
        } onCancel: {
            Task { await self.cancelWaiter(id) }
        }
    }

    /// The primary each channel is subscribed at now; a channel on its way to one is left out.
    public func subscriptions() -> [String: RedisClusterNode] {
        var nodes: [String: RedisClusterNode] = [:]
        for channel in self.machine.channels {
            nodes[channel] = self.machine.node(of: channel)
        }
        return nodes
    }

    /// Closes every connection, stops following the slots and finishes ``events``.
    public func close() async {
        guard !self.isClosed else { return }
        self.isClosed = true
        self.mapRead?.cancel()
        let links = self.links
        self.links = [:]
        let waiters = self.waiters
        self.waiters = [:]
        for waiter in waiters.values {
            waiter.continuation.resume(throwing: RedisClientError(.clientClosed))
        }
        for link in links.values {
            if case .connected(_, let connection) = link { await connection.close() }
        }
        self.continuation.finish()
    }

    // MARK: Carrying out the machine's actions

    private func apply(_ actions: [Machine.Action]) {
        guard !self.isClosed else { return }
        for action in actions {
            switch action {
            case .subscribe(let tickets, let node):
                Task { await self.subscribe(tickets, at: node) }
            case .readMap(let attempt, let fresh, let avoiding):
                self.mapRead = Task { await self.readMap(attempt: attempt, fresh: fresh, avoiding: avoiding) }
            case .report(let event):
                switch event {
                case .disconnected(let error):
                    self.logger.info(
                        "A shard channel lost its subscription; subscribing again where the slot map says.",
                        metadata: ["reason": "\(error)"])
                case .reconnected:
                    self.logger.info("Every shard channel is subscribed again.")
                case .message:
                    break
                }
                self.continuation.yield(event)
            }
        }
        // A primary none of the channels is placed at any more needs no connection.
        let nodes = self.machine.nodes
        for (node, link) in self.links where !nodes.contains(node) {
            self.links[node] = nil
            if case .connected(_, let connection) = link { Task { await connection.close() } }
        }
        for (id, waiter) in self.waiters where self.machine.isSubscribed(waiter.channels) {
            self.waiters[id] = nil
            waiter.continuation.resume()
        }
    }

    private func cancelWaiter(_ id: Int) {
        self.waiters.removeValue(forKey: id)?.continuation.resume(throwing: CancellationError())
    }

    private func subscribe(_ tickets: [Machine.Ticket], at node: RedisClusterNode) async {
        let connection: RedisConnection
        do {
            connection = try await self.connection(to: node)
        } catch {
            let failure = Self.redisError(error)
            self.logger.debug(
                "A Redis Cluster primary could not be reached for pub/sub.",
                metadata: ["node": "\(node)", "error": "\(failure)"])
            for ticket in tickets {
                self.apply(self.machine.subscribeFailed(ticket, at: node, error: failure))
            }
            return
        }
        for ticket in tickets {
            do {
                _ = try await connection.subscription(
                    RESPCommand("SSUBSCRIBE", .string(ticket.channel)), confirmation: "ssubscribe", count: 1)
                self.apply(self.machine.subscribed(ticket, at: node))
            } catch {
                let failure = Self.redisError(error)
                self.logger.debug(
                    "A shard channel could not be subscribed.",
                    metadata: ["node": "\(node)", "channel": "\(ticket.channel)", "error": "\(failure)"])
                self.apply(self.machine.subscribeFailed(ticket, at: node, error: failure))
            }
        }
    }

    private func readMap(attempt: Int, fresh: Bool, avoiding: Set<RedisClusterNode>) async {
        if attempt > 0 {
            let delay = self.configuration.backoff.delay(afterAttempt: attempt - 1)
            try? await Task.sleep(nanoseconds: UInt64(max(delay.nanoseconds, 0)))
        }
        guard !self.isClosed else { return }
        do {
            let map =
                if fresh { try await self.cluster.refreshSlotMap(avoiding: avoiding) } else {
                    try await self.cluster.currentSlotMap()
                }
            self.apply(self.machine.mapRead(map))
        } catch {
            let failure = Self.redisError(error)
            if failure.code == .clientClosed {
                // The cluster client was closed under it: nothing can be followed any more.
                await self.close()
                return
            }
            self.logger.debug("The Redis Cluster's slot map could not be read.", metadata: ["error": "\(failure)"])
            self.apply(self.machine.mapReadFailed(failure))
        }
    }

    // MARK: Connections

    private func connection(to node: RedisClusterNode) async throws -> RedisConnection {
        guard !self.isClosed else { throw RedisClientError(.clientClosed) }
        switch self.links[node] {
        case .connected(let generation, let connection)?:
            if connection.isActive { return connection }
            // Closed, and the close not handled yet: its channels are placed again first.
            self.connectionClosed(node, generation: generation)
            throw Self.closed(node)
        case .connecting(_, let task)?:
            return try await task.value
        case nil:
            self.lastGeneration += 1
            let generation = self.lastGeneration
            let task = Task { try await self.connect(to: node, generation: generation) }
            self.links[node] = .connecting(generation: generation, task)
            return try await task.value
        }
    }

    private func connect(to node: RedisClusterNode, generation: Int) async throws -> RedisConnection {
        var configuration = self.configuration
        configuration.host = node.host
        configuration.port = node.port
        let continuation = self.continuation
        let connection: RedisConnection
        do {
            connection = try await RedisConnection.connect(
                configuration: configuration, eventLoop: self.eventLoopGroup.any(), logger: self.logger,
                onPush: { token in
                    if let message = RedisPubSubMessage(push: token) {
                        continuation.yield(.message(message))
                    } else if let channel = Self.endedChannel(token) {
                        Task { await self.subscriptionEnded(channel, at: node, generation: generation) }
                    }
                })
        } catch {
            if case .connecting(generation, _)? = self.links[node] { self.links[node] = nil }
            throw error
        }
        // The node may have been given up, or the subscriber closed, while it connected.
        guard !self.isClosed, case .connecting(generation, _)? = self.links[node] else {
            await connection.close()
            throw RedisClientError(
                self.isClosed ? .clientClosed : .connectionClosed,
                message: "the connection to \(node) is no longer needed")
        }
        self.links[node] = .connected(generation: generation, connection)
        connection.closeFuture.whenComplete { _ in
            Task { await self.connectionClosed(node, generation: generation) }
        }
        return connection
    }

    private func connectionClosed(_ node: RedisClusterNode, generation: Int) {
        guard case .connected(generation, _)? = self.links[node] else { return }
        self.links[node] = nil
        self.apply(self.machine.connectionLost(node, error: Self.closed(node)))
    }

    private func subscriptionEnded(_ channel: String, at node: RedisClusterNode, generation: Int) {
        guard case .connected(generation, _)? = self.links[node] else { return }
        self.apply(self.machine.subscriptionEnded(channel, at: node))
    }

    /// The channel of a `sunsubscribe` push: the server ended that subscription (this
    /// subscriber never unsubscribes, so it is never a confirmation).
    static func endedChannel(_ token: RESPToken) -> String? {
        guard let elements = token.elements?.tokens, elements.count >= 2,
            elements[0].string?.lowercased() == "sunsubscribe"
        else {
            return nil
        }
        return elements[1].string
    }

    private static func closed(_ node: RedisClusterNode) -> RedisClientError {
        RedisClientError(.connectionClosed, message: "the pub/sub connection to \(node) closed")
    }

    private static func redisError(_ error: any Error) -> RedisClientError {
        (error as? RedisClientError) ?? RedisClientError(.connectionClosed, message: "\(error)")
    }
}
