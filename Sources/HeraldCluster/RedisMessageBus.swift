import HeraldCore
import HeraldRESP
import HeraldRedis
import Logging
import NIOCore
import NIOPosix

/// The ``MessageBus`` of a cluster, on Redis pub/sub: a channel per node and one for every
/// node, each message encoded by ``BusMessageCodec``.
///
/// On a single server it uses `PUBLISH` and `SUBSCRIBE`. On a Redis Cluster it uses sharded
/// pub/sub, so that a message travels only within the shard that serves its channel's slot
/// rather than to every node: `SPUBLISH`, routed by the channel's slot so that one sender's
/// messages to one channel always leave from the same primary, in order, and `SSUBSCRIBE` at
/// that primary through ``RedisShardSubscriber``, which follows the slot when a reshard or a
/// failover moves it.
public struct RedisMessageBus: MessageBus {
    /// Where the subscriptions listen.
    private enum Listening: Sendable {
        /// `SUBSCRIBE` on the one server.
        case server(RedisConfiguration)
        /// `SSUBSCRIBE` at each channel's primary, with these connection settings.
        case shards(RedisClusterClient, RedisConfiguration)
    }

    /// One subscription's subscriber.
    private enum Subscriber: Sendable {
        case server(RedisSubscriber)
        case shards(RedisShardSubscriber)

        var events: AsyncStream<RedisSubscriberEvent> {
            switch self {
            case .server(let subscriber): subscriber.events
            case .shards(let subscriber): subscriber.events
            }
        }

        func close() async {
            switch self {
            case .server(let subscriber): await subscriber.close()
            case .shards(let subscriber): await subscriber.close()
            }
        }
    }

    private let executor: any RedisCommandExecutor
    /// `PUBLISH`, or `SPUBLISH` on a cluster.
    private let publishCommand: String
    private let listening: Listening
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
            executor: client, publishCommand: "PUBLISH", listening: .server(Self.promptly(client.configuration)),
            namespace: namespace, codec: codec, eventLoopGroup: eventLoopGroup, logger: logger)
    }

    /// A bus on a Redis Cluster; `namespace` prefixes every channel.
    public init(
        cluster: RedisClusterClient, namespace: String = "herald", codec: BusMessageCodec = BusMessageCodec(),
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger = Logger(label: "herald.cluster.bus")
    ) {
        self.init(
            executor: cluster, publishCommand: "SPUBLISH",
            listening: .shards(cluster, Self.promptly(cluster.configuration.node)), namespace: namespace, codec: codec,
            eventLoopGroup: eventLoopGroup, logger: logger)
    }

    private init(
        executor: any RedisCommandExecutor, publishCommand: String, listening: Listening, namespace: String,
        codec: BusMessageCodec, eventLoopGroup: any EventLoopGroup, logger: Logger
    ) {
        self.executor = executor
        self.publishCommand = publishCommand
        self.listening = listening
        self.eventLoopGroup = eventLoopGroup
        self.keys = RedisClusterKeys(namespace: namespace)
        self.codec = codec
        self.logger = logger
    }

    /// A lost subscription misses every message until it is back, and its node may already be
    /// serving again (its lease renewed): it retries at least every second, a cheap connection
    /// attempt or read of the slot map, rather than the client's longer backoff ceiling.
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
        return .command(RESPCommand(self.publishCommand, .string(channel), .bytes(payload)), keyAt: 1)
    }

    public func subscribe(node: String) -> AsyncStream<BusEvent> {
        let (stream, continuation) = AsyncStream.makeStream(of: BusEvent.self, bufferingPolicy: .unbounded)
        let subscriber: Subscriber =
            switch self.listening {
            case .server(let configuration):
                .server(
                    RedisSubscriber(configuration: configuration, eventLoopGroup: self.eventLoopGroup, logger: self.logger))
            case .shards(let cluster, let configuration):
                .shards(
                    RedisShardSubscriber(
                        cluster: cluster, configuration: configuration, eventLoopGroup: self.eventLoopGroup,
                        logger: self.logger))
            }
        let nodeChannel = self.keys.busChannel(node: node)
        let allChannel = self.keys.busAllChannel
        let codec = self.codec
        let logger = self.logger
        let task = Task {
            switch subscriber {
            case .server(let subscriber):
                await Self.subscribe(
                    subscriber, to: [nodeChannel, allChannel], continuation: continuation, logger: logger)
            case .shards(let subscriber):
                // It keeps trying by itself; a wait is reported as disconnected, then reconnected.
                try? await subscriber.ssubscribe([nodeChannel, allChannel])
            }
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
                case .disconnected(let error):
                    logger.info(
                        "The bus subscription was lost; messages until it is back are missed.",
                        metadata: ["reason": "\(error)"])
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
