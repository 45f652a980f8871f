import HeraldRESP
import Logging
import NIOCore
import NIOPosix

/// A connection of its own for pub/sub: channels, patterns and shard channels, with the
/// messages delivered as an `AsyncSequence` of ``RedisSubscriberEvent``s.
///
/// When its connection is lost, the subscriber reconnects (with the configuration's backoff,
/// for as long as it takes; given several servers, it tries each in turn, which is how it
/// follows a Redis Cluster whose node it listened on failed), subscribes again to everything
/// it had, and reports
/// ``RedisSubscriberEvent/disconnected(_:)`` then ``RedisSubscriberEvent/reconnected``:
/// Redis keeps no messages for absent subscribers, so what was published in between is lost.
public actor RedisSubscriber {
    private enum Operation: String {
        case subscribe = "SUBSCRIBE"
        case unsubscribe = "UNSUBSCRIBE"
        case psubscribe = "PSUBSCRIBE"
        case punsubscribe = "PUNSUBSCRIBE"
        case ssubscribe = "SSUBSCRIBE"
        case sunsubscribe = "SUNSUBSCRIBE"

        /// The push that confirms each channel of the command.
        var confirmation: String { self.rawValue.lowercased() }
    }

    /// Everything the subscriber reports, in order; it finishes when the subscriber is closed.
    public nonisolated let events: AsyncStream<RedisSubscriberEvent>
    private let continuation: AsyncStream<RedisSubscriberEvent>.Continuation
    /// The first server and the subscriber's settings.
    public nonisolated let configuration: RedisConfiguration
    private var rotation: RedisEndpointRotation<RedisConfiguration>
    private let eventLoopGroup: any EventLoopGroup
    private let logger: Logger

    private var channels: Set<String> = []
    private var patterns: Set<String> = []
    private var shardChannels: Set<String> = []
    private var connection: RedisConnection?
    private var connecting: Task<RedisConnection, any Error>?
    private var reconnecting: Task<Void, Never>?
    private var isReconnecting = false
    private var generation = 0
    private var isClosed = false

    /// Creates a subscriber; it connects on its first subscription.
    public init(
        configuration: RedisConfiguration,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger = Logger(label: "herald.redis.subscriber")
    ) {
        self.init(configuration: configuration, failover: [], eventLoopGroup: eventLoopGroup, logger: logger)
    }

    /// Creates a subscriber that listens on `configuration`'s server and, when a server cannot
    /// be reached, moves on to the next of `failover`, in turn: servers that all carry the same
    /// messages, such as the nodes of a Redis Cluster, where a `PUBLISH` reaches every node.
    public init(
        configuration: RedisConfiguration,
        failover: [RedisConfiguration],
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger = Logger(label: "herald.redis.subscriber")
    ) {
        self.configuration = configuration
        self.rotation = RedisEndpointRotation([configuration] + failover, backoff: configuration.backoff)
        self.eventLoopGroup = eventLoopGroup
        self.logger = logger
        (self.events, self.continuation) = AsyncStream.makeStream(of: RedisSubscriberEvent.self, bufferingPolicy: .unbounded)
    }

    /// Creates a subscriber for `redis://[user:password@]host[:port][/database]`.
    public init(
        url: String,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger = Logger(label: "herald.redis.subscriber")
    ) throws(RedisClientError) {
        self.init(configuration: try RedisConfiguration(url: url), eventLoopGroup: eventLoopGroup, logger: logger)
    }

    /// Listens to `channels` (`SUBSCRIBE`), returning once Redis has confirmed every one.
    ///
    /// The channels are remembered even when this throws for a lost connection: they are
    /// subscribed to again on reconnection.
    public func subscribe(_ channels: [String]) async throws {
        try await self.perform(.subscribe, channels)
    }

    /// Stops listening to `channels` (`UNSUBSCRIBE`).
    public func unsubscribe(_ channels: [String]) async throws {
        try await self.perform(.unsubscribe, channels)
    }

    /// Listens to the channels matching `patterns` (`PSUBSCRIBE`).
    public func psubscribe(_ patterns: [String]) async throws {
        try await self.perform(.psubscribe, patterns)
    }

    /// Stops listening to `patterns` (`PUNSUBSCRIBE`).
    public func punsubscribe(_ patterns: [String]) async throws {
        try await self.perform(.punsubscribe, patterns)
    }

    /// Listens to shard channels (`SSUBSCRIBE`, Redis 7 and later).
    public func ssubscribe(_ channels: [String]) async throws {
        try await self.perform(.ssubscribe, channels)
    }

    /// Stops listening to shard channels (`SUNSUBSCRIBE`).
    public func sunsubscribe(_ channels: [String]) async throws {
        try await self.perform(.sunsubscribe, channels)
    }

    /// Closes the connection, stops reconnecting and finishes ``events``.
    public func close() async {
        guard !self.isClosed else { return }
        self.isClosed = true
        self.connecting?.cancel()
        self.reconnecting?.cancel()
        let connection = self.connection
        self.connection = nil
        await connection?.close()
        self.continuation.finish()
    }

    // MARK: Internals

    private func perform(_ operation: Operation, _ names: [String]) async throws {
        guard !self.isClosed else { throw RedisClientError(.clientClosed) }
        guard !names.isEmpty else { return }
        switch operation {
        case .subscribe: self.channels.formUnion(names)
        case .unsubscribe: self.channels.subtract(names)
        case .psubscribe: self.patterns.formUnion(names)
        case .punsubscribe: self.patterns.subtract(names)
        case .ssubscribe: self.shardChannels.formUnion(names)
        case .sunsubscribe: self.shardChannels.subtract(names)
        }
        let connection: RedisConnection
        do {
            connection = try await self.liveConnection(attempts: nil)
            self.rotation.succeeded()
        } catch {
            // The caller tries again (the bus does until it works): the next server then.
            _ = self.rotation.failed()
            throw error
        }
        try await Self.send(operation, names, on: connection)
    }

    private static func send(_ operation: Operation, _ names: [String], on connection: RedisConnection) async throws {
        _ = try await connection.subscription(
            RESPCommand(operation.rawValue, arguments: names.map { .string($0) }),
            confirmation: operation.confirmation,
            count: names.count
        )
    }

    private func liveConnection(attempts: Int?) async throws -> RedisConnection {
        if let connection = self.connection, connection.isActive { return connection }
        if let connecting = self.connecting { return try await connecting.value }
        let configuration = self.rotation.current
        let eventLoop = self.eventLoopGroup.any()
        let logger = self.logger
        let continuation = self.continuation
        let task = Task {
            try await RedisConnection.connectRetrying(
                configuration: configuration,
                eventLoop: eventLoop,
                logger: logger,
                attempts: attempts,
                onPush: { token in
                    if let message = RedisPubSubMessage(push: token) { continuation.yield(.message(message)) }
                }
            )
        }
        self.connecting = task
        defer { self.connecting = nil }
        let connection = try await task.value
        guard !self.isClosed else {
            await connection.close()
            throw RedisClientError(.clientClosed)
        }
        self.generation += 1
        let generation = self.generation
        self.connection = connection
        connection.closeFuture.whenComplete { _ in
            Task { await self.connectionClosed(generation: generation) }
        }
        return connection
    }

    private func connectionClosed(generation: Int) {
        guard generation == self.generation, !self.isClosed else { return }
        self.connection = nil
        // A connection lost while reconnecting is the reconnection loop's to handle.
        guard !self.isReconnecting else { return }
        self.logger.info("The Redis subscriber lost its connection; reconnecting.")
        self.continuation.yield(.disconnected(RedisClientError(.connectionClosed)))
        self.isReconnecting = true
        self.reconnecting = Task { await self.reconnect() }
    }

    /// Connects again and subscribes again to everything, until it works or the subscriber is closed.
    private func reconnect() async {
        defer { self.isReconnecting = false }
        while !self.isClosed, !Task.isCancelled {
            do {
                let connection = try await self.liveConnection(attempts: 1)
                for (operation, names) in [(Operation.subscribe, self.channels), (.psubscribe, self.patterns), (.ssubscribe, self.shardChannels)]
                where !names.isEmpty {
                    try await Self.send(operation, names.sorted(), on: connection)
                }
                self.rotation.succeeded()
                self.logger.info(
                    "The Redis subscriber reconnected and subscribed again.",
                    metadata: ["server": "\(self.rotation.current.host):\(self.rotation.current.port)"])
                self.continuation.yield(.reconnected)
                return
            } catch {
                if case .clientClosed? = (error as? RedisClientError)?.code { return }
                self.logger.debug("The Redis subscriber could not subscribe again.", metadata: ["error": "\(error)"])
                await self.connection?.close()
                self.connection = nil
                let delay = self.rotation.failed()
                if delay > .zero { try? await Task.sleep(nanoseconds: UInt64(delay.nanoseconds)) }
            }
        }
    }
}
