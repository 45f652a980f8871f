import HeraldCore
import HeraldRESP
import HeraldRedis
import Logging
import NIOCore
import NIOPosix

/// The ``MessageBus`` of a cluster, on Redis pub/sub: a channel per node and one for every
/// node, each message encoded by ``BusMessageCodec``.
///
/// On a Redis Cluster it publishes with plain `PUBLISH`, which the cluster passes to every
/// node, routed by the channel's slot so that one sender's messages to one channel always
/// leave from the same primary, in order; each subscription listens on one node (the
/// configuration's first) and, when that node fails, moves on to the next seed and
/// subscribes again there. Sharded pub/sub is not used: ``RedisSubscriber`` holds one
/// connection and does not follow a shard channel's slot to its primary.
public struct RedisMessageBus: MessageBus {
    private let executor: any RedisCommandExecutor
    private let subscriberConfiguration: RedisConfiguration
    private let subscriberFailover: [RedisConfiguration]
    private let eventLoopGroup: any EventLoopGroup
    private let keys: RedisClusterKeys
    private let codec: BusMessageCodec
    private let logger: Logger

    /// A bus on one Redis server; `namespace` prefixes every channel.
    public init(
        client: RedisClient, namespace: String = "herald", codec: BusMessageCodec = BusMessageCodec(),
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger = Logger(label: "herald.cluster.bus")
    ) {
        self.init(
            executor: client, subscriberConfiguration: client.configuration, subscriberFailover: [], namespace: namespace,
            codec: codec, eventLoopGroup: eventLoopGroup, logger: logger)
    }

    /// A bus on a Redis Cluster; `namespace` prefixes every channel.
    public init(
        cluster: RedisClusterClient, namespace: String = "herald", codec: BusMessageCodec = BusMessageCodec(),
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger = Logger(label: "herald.cluster.bus")
    ) {
        let seeds = cluster.configuration.seeds.map { seed in
            var configuration = cluster.configuration.node
            configuration.host = seed.host
            configuration.port = seed.port
            configuration.database = 0
            return configuration
        }
        self.init(
            executor: cluster, subscriberConfiguration: cluster.configuration.node,
            subscriberFailover: seeds.filter { $0 != cluster.configuration.node }, namespace: namespace, codec: codec,
            eventLoopGroup: eventLoopGroup, logger: logger)
    }

    init(
        executor: any RedisCommandExecutor, subscriberConfiguration: RedisConfiguration,
        subscriberFailover: [RedisConfiguration], namespace: String, codec: BusMessageCodec,
        eventLoopGroup: any EventLoopGroup, logger: Logger
    ) {
        self.executor = executor
        self.subscriberConfiguration = Self.promptly(subscriberConfiguration)
        self.subscriberFailover = subscriberFailover.map(Self.promptly)
        self.eventLoopGroup = eventLoopGroup
        self.keys = RedisClusterKeys(namespace: namespace)
        self.codec = codec
        self.logger = logger
    }

    /// A lost subscription misses every message until it is back, and its node may already be
    /// serving again (its lease renewed): it retries at least every second, a cheap connection
    /// attempt, rather than the client's longer backoff ceiling.
    private static func promptly(_ configuration: RedisConfiguration) -> RedisConfiguration {
        var configuration = configuration
        configuration.backoff.maximum = min(configuration.backoff.maximum, .seconds(1))
        return configuration
    }

    public func publish(_ message: BusMessage, to target: BusTarget) async throws {
        try await self.publish([BusPublication(message, to: target)])
    }

    /// Every message in one pipeline (one per shard on a Redis Cluster).
    public func publish(_ messages: [BusPublication]) async throws {
        guard !messages.isEmpty else { return }
        let operations = try messages.map { try self.publishOperation($0) }
        for result in try await self.executor.run(operations) { _ = try result.get() }
    }

    private func publishOperation(_ publication: BusPublication) throws -> RedisOperation {
        let channel =
            switch publication.target {
            case .node(let node): self.keys.busChannel(node: node)
            case .all: self.keys.busAllChannel
            }
        let payload = try self.codec.encode(publication.message)
        return .command(RESPCommand("PUBLISH", .string(channel), .bytes(payload)), keyAt: 1)
    }

    public func subscribe(node: String) -> AsyncStream<BusEvent> {
        let (stream, continuation) = AsyncStream.makeStream(of: BusEvent.self, bufferingPolicy: .unbounded)
        let subscriber = RedisSubscriber(
            configuration: self.subscriberConfiguration, failover: self.subscriberFailover,
            eventLoopGroup: self.eventLoopGroup, logger: self.logger)
        let nodeChannel = self.keys.busChannel(node: node)
        let allChannel = self.keys.busAllChannel
        let codec = self.codec
        let logger = self.logger
        let task = Task {
            await Self.subscribe(subscriber, to: [nodeChannel, allChannel], continuation: continuation, logger: logger)
            for await event in subscriber.events {
                switch event {
                case .message(let message):
                    do {
                        let decoded = try codec.decode(message.payload)
                        // The sender hears nothing of its own messages to every node.
                        if ByteString.same(message.channel, allChannel), ByteString.same(decoded.origin, node) { continue }
                        continuation.yield(.message(decoded))
                    } catch {
                        logger.warning(
                            "A bus message could not be decoded and was dropped.",
                            metadata: ["channel": "\(message.channel)", "error": "\(error)"])
                    }
                case .disconnected:
                    logger.info("The bus subscription lost its connection to Redis; messages until it is back are missed.")
                case .reconnected:
                    continuation.yield(.resubscribed)
                }
            }
            continuation.finish()
        }
        continuation.onTermination = { _ in
            task.cancel()
            Task { await subscriber.close() }
        }
        return stream
    }

    /// Subscribes until it works; a first subscription that had to wait may have missed
    /// messages, which `.resubscribed` says.
    private static func subscribe(
        _ subscriber: RedisSubscriber, to channels: [String], continuation: AsyncStream<BusEvent>.Continuation, logger: Logger
    ) async {
        var attempt = 0
        while !Task.isCancelled {
            do {
                try await subscriber.subscribe(channels)
                if attempt > 0 { continuation.yield(.resubscribed) }
                return
            } catch {
                if case .clientClosed? = (error as? RedisClientError)?.code { return }
                logger.warning("The bus could not subscribe to Redis; trying again.", metadata: ["error": "\(error)"])
                let delay = subscriber.configuration.backoff.delay(afterAttempt: attempt)
                attempt += 1
                try? await Task.sleep(nanoseconds: UInt64(max(delay.nanoseconds, 0)))
            }
        }
    }
}
