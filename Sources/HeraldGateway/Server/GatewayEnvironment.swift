import HeraldCore
import HeraldWire
import Logging
import NIOCore

/// What every connection handler of a gateway shares: configuration, ports, counters and
/// the per-loop shards. Immutable after creation.
final class GatewayEnvironment: Sendable {
    let configuration: GatewayConfiguration
    let machineConfiguration: ConnectionStateMachine.Configuration
    let verifier: TokenVerifier
    let replay: any ReplayProvider
    let directory: any SessionDirectory
    let logger: Logger
    let metrics: GatewayMetrics
    let counters: GatewayCounters
    /// One shard per event loop of the group, in the group's order.
    let shards: [EventLoopShard]
    private let shardsByLoop: [ObjectIdentifier: EventLoopShard]
    let authTimeoutTicks: UInt64
    let idleTimeoutTicks: UInt64
    /// Ticks a connection may spend writing its last frame before it is closed outright.
    let closeGraceTicks: UInt64

    init(
        configuration: GatewayConfiguration,
        eventLoops: [any EventLoop],
        apps: AppRegistry,
        directory: any SessionDirectory,
        replay: any ReplayProvider,
        logger: Logger
    ) {
        self.configuration = configuration
        self.machineConfiguration = ConnectionStateMachine.Configuration(
            maxSessions: configuration.maxSessionsPerConnection,
            maxSubscriptionsPerSession: configuration.maxSubscriptionsPerSession,
            maxQueuedMessages: 64,
            heartbeatSeconds: configuration.heartbeat,
            nodeID: configuration.nodeID
        )
        self.verifier = TokenVerifier(apps: apps)
        self.replay = replay
        self.directory = directory
        self.logger = logger
        self.metrics = GatewayMetrics()
        self.counters = GatewayCounters()
        let tick = TimeAmount(configuration.timerTick)
        let tickNanoseconds = max(tick.nanoseconds, 1)
        let shards = eventLoops.map { EventLoopShard(eventLoop: $0, tickInterval: .nanoseconds(tickNanoseconds)) }
        self.shards = shards
        self.shardsByLoop = Dictionary(
            shards.map { (ObjectIdentifier($0.eventLoop), $0) },
            uniquingKeysWith: { first, _ in first }
        )
        func ticks(_ duration: Duration) -> UInt64 {
            let nanoseconds = max(TimeAmount(duration).nanoseconds, 0)
            return UInt64((nanoseconds + tickNanoseconds - 1) / tickNanoseconds)
        }
        self.authTimeoutTicks = max(ticks(configuration.authTimeout), 1)
        self.idleTimeoutTicks = max(ticks(configuration.idleTimeout), 1)
        self.closeGraceTicks = max(ticks(.seconds(2)), 1)
    }

    /// The shard of `eventLoop`, if it belongs to the gateway's group.
    func shard(for eventLoop: any EventLoop) -> EventLoopShard? {
        self.shardsByLoop[ObjectIdentifier(eventLoop)]
    }

    /// Ends the other sessions of the same (app, user, device) on every loop (the replace rule).
    func replaceOtherSessions(
        app: String,
        user: String,
        device: String,
        keeping key: SessionKey,
        on origin: EventLoopShard
    ) {
        for shard in self.shards {
            if shard === origin {
                _ = shard.endSessions(app: app, user: user, device: device, reason: .replaced, except: key)
            } else {
                shard.eventLoop.execute {
                    _ = shard.endSessions(app: app, user: user, device: device, reason: .replaced)
                }
            }
        }
    }
}
