import HeraldCore
import HeraldWire
import Logging
import NIOConcurrencyHelpers
import NIOCore

/// What every connection handler of a gateway shares: configuration, ports, counters and
/// the per-loop shards. Immutable after creation.
final class GatewayEnvironment: Sendable {
    let configuration: GatewayConfiguration
    let machineConfiguration: ConnectionStateMachine.SharedConfiguration
    let verifier: TokenVerifier
    /// Frames up to the configured largest length.
    let frameDecoder: FrameDecoder
    /// Frames up to the smaller length allowed before the first AUTH_OK.
    let frameDecoderBeforeAuth: FrameDecoder
    let replay: any ReplayProvider
    /// Where ACKs of QoS 1 messages go; nil drops them (a node without a store).
    let acknowledgements: (any AcknowledgementSink)?
    /// A cluster node's observer, told of every session; nil on a single node.
    let observer: (any SessionObserver)?
    let logger: Logger
    let metrics: GatewayMetrics
    let counters: GatewayCounters
    /// Connections per address and accepts per second, checked at accept.
    let acceptLimiter: AcceptLimiter
    /// One shard per event loop of the group, in the group's order.
    let shards: [EventLoopShard]
    private let shardsByLoop: [ObjectIdentifier: EventLoopShard]
    let authTimeoutTicks: UInt64
    let idleTimeoutTicks: UInt64
    /// Ticks a connection may spend writing its last frame before it is closed outright.
    let closeGraceTicks: UInt64
    /// Bytes of replay written at a time: a quarter of the outbound limit (so a replay never
    /// makes its own connection a slow consumer), at least 4 KiB and at most 256 KiB.
    let replayPageBytes: Int
    /// Orders sessions across loops for the replace rule: of two sessions of one device, the
    /// one indexed later (larger generation) wins, even when both open at the same instant.
    private let generations = NIOLockedValueBox<UInt64>(0)
    /// Whether the node sends its clients away (a cluster node cut off from its peers): new
    /// connections get GOAWAY `draining` at once. Read once per accepted connection.
    private let drainingClients = NIOLockedValueBox(false)

    init(
        configuration: GatewayConfiguration,
        eventLoops: [any EventLoop],
        apps: AppRegistry,
        observer: (any SessionObserver)?,
        replay: any ReplayProvider,
        acknowledgements: (any AcknowledgementSink)?,
        logger: Logger
    ) {
        self.configuration = configuration
        self.verifier = TokenVerifier(apps: apps)
        let maximumLength = max(configuration.maxFrameLength, Frame.minimumLength)
        self.frameDecoder = FrameDecoder(maximumLength: maximumLength)
        self.frameDecoderBeforeAuth = FrameDecoder(
            maximumLength: min(max(configuration.maxFrameLengthBeforeAuth, Frame.minimumLength), maximumLength)
        )
        self.replay = replay
        self.acknowledgements = acknowledgements
        self.observer = observer
        self.logger = logger
        let metrics = GatewayMetrics()
        let counters = GatewayCounters()
        self.metrics = metrics
        self.counters = counters
        self.acceptLimiter = AcceptLimiter(
            maxConnectionsPerAddress: configuration.maxConnectionsPerAddress,
            maxAcceptsPerSecond: configuration.maxAcceptsPerSecond
        )
        let tick = TimeAmount(configuration.timerTick)
        let tickNanoseconds = max(tick.nanoseconds, 1)
        let sliceLimits = EventLoopShard.SliceLimits(configuration)
        let shards = eventLoops.map {
            EventLoopShard(
                eventLoop: $0,
                tickInterval: .nanoseconds(tickNanoseconds),
                sliceLimits: sliceLimits,
                queueLimit: configuration.fanOutQueueLimit,
                counters: counters,
                metrics: metrics
            )
        }
        for shard in shards { shard.setPeers(shards) }
        self.shards = shards
        self.shardsByLoop = Dictionary(
            shards.map { (ObjectIdentifier($0.eventLoop), $0) },
            uniquingKeysWith: { first, _ in first }
        )
        func ticks(_ duration: Duration) -> UInt64 {
            let nanoseconds = max(TimeAmount(duration).nanoseconds, 0)
            return UInt64((nanoseconds + tickNanoseconds - 1) / tickNanoseconds)
        }
        // One tick more than the timeout: activity is stamped with the tick it fell in, so
        // a deadline of exactly `timeout` ticks could fire up to one tick early, and the
        // protocol promises the full timeout.
        self.authTimeoutTicks = ticks(configuration.authTimeout) + 1
        self.idleTimeoutTicks = ticks(configuration.idleTimeout) + 1
        self.closeGraceTicks = max(ticks(.seconds(2)), 1)
        self.replayPageBytes = min(max(configuration.maxOutboundBytes / 4, 4096), 256 * 1024)
        self.machineConfiguration = ConnectionStateMachine.SharedConfiguration(
            ConnectionStateMachine.Configuration(
                maxSessions: configuration.maxSessionsPerConnection,
                maxSubscriptionsPerSession: configuration.maxSubscriptionsPerSession,
                maxQueuedMessages: 64,
                heartbeatSeconds: configuration.heartbeat,
                nodeID: configuration.nodeID,
                maxHeldPushes: 4096,
                authTimeoutTicks: self.authTimeoutTicks,
                idleTimeoutTicks: self.idleTimeoutTicks,
                closeGraceTicks: self.closeGraceTicks,
                replayPageBytes: self.replayPageBytes,
                maxAuthAttempts: min(max(configuration.maxAuthAttemptsPerConnection, 1), Int(UInt16.max) - 1)
            )
        )
    }

    /// The largest WebSocket message accepted once authenticated: the largest frame plus its
    /// length field and a little slack for the WebSocket layer.
    var maxWebSocketMessageSize: Int { Self.webSocketMessageSize(for: self.frameDecoder) }

    /// The largest WebSocket message accepted before the first AUTH_OK: the WebSocket layer
    /// refuses a longer one from its header, before buffering it.
    var maxWebSocketMessageSizeBeforeAuth: Int { Self.webSocketMessageSize(for: self.frameDecoderBeforeAuth) }

    private static func webSocketMessageSize(for decoder: FrameDecoder) -> Int {
        decoder.maximumLength + 4 + 64
    }

    /// The shard of `eventLoop`, if it belongs to the gateway's group.
    func shard(for eventLoop: any EventLoop) -> EventLoopShard? {
        self.shardsByLoop[ObjectIdentifier(eventLoop)]
    }

    /// Whether new connections are sent away with GOAWAY `draining`.
    var isDrainingClients: Bool {
        get { self.drainingClients.withLockedValue { $0 } }
        set { self.drainingClients.withLockedValue { $0 = newValue } }
    }

    /// A new, larger session generation.
    func nextSessionGeneration() -> UInt64 {
        self.generations.withLockedValue { generation in
            generation += 1
            return generation
        }
    }

    /// Ends the older sessions of the same (app, user, device) on every loop (the replace
    /// rule): those with a generation below `generation`. One on the opening session's own
    /// connection is left to that connection, which ends it after the new AUTH_OK. The other
    /// loops hear of it at the end of this loop's tick, with every other session it opened.
    func replaceOtherSessions(
        app: String,
        user: String,
        device: String,
        generation: UInt64,
        from connection: ConnectionID,
        on origin: EventLoopShard
    ) {
        _ = origin.endSessions(
            app: app,
            user: user,
            device: device,
            reason: .replaced,
            olderThan: generation,
            sparing: connection
        )
        origin.replaceOnPeers(
            EventLoopShard.Replacement(app: app, user: user, device: device, generation: generation)
        )
    }
}
