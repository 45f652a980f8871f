import CoreMetrics
import HeraldCore
import HeraldTLS
import HeraldWire
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import NIOWebSocket
import ServiceLifecycle

/// The client-facing part of a node: the TCP and WebSocket servers, every connection's
/// sessions, and in-process delivery to them.
///
/// Run it in a `ServiceGroup`: ``run()`` binds both servers, serves until graceful
/// shutdown (or cancellation), then drains: GOAWAY `draining` to every connection, close.
/// As a `PushDelivery` it writes messages to the sessions of this node, hopping once per
/// event loop; each loop keeps its own session indexes, so delivery takes no lock.
public final class Gateway: Service, PushDelivery {
    private enum BindState {
        case waiting([CheckedContinuation<BoundAddresses, any Error>])
        case bound(BoundAddresses)
        case failed(any Error)
    }

    /// Why the gateway could not start.
    public struct StartError: Error, Sendable, CustomStringConvertible {
        /// What went wrong.
        public var message: String

        /// Creates an error.
        public init(_ message: String) {
            self.message = message
        }

        /// The message.
        public var description: String { self.message }
    }

    let configuration: GatewayConfiguration
    private let eventLoopGroup: any EventLoopGroup
    let environment: GatewayEnvironment
    private let logger: Logger
    private let bindState = NIOLockedValueBox(BindState.waiting([]))

    /// Creates a gateway; nothing is bound until ``run()``. Give `observer` when the node is
    /// part of a cluster: it hears of every session that opens and closes. Who is online on
    /// this node is answered by the gateway itself (``SessionLookup``).
    public init(
        configuration: GatewayConfiguration,
        eventLoopGroup: any EventLoopGroup,
        apps: AppRegistry,
        observer: (any SessionObserver)? = nil,
        replay: any ReplayProvider,
        acknowledgements: (any AcknowledgementSink)? = nil,
        logger: Logger
    ) {
        self.configuration = configuration
        self.eventLoopGroup = eventLoopGroup
        self.logger = logger
        var loops: [any EventLoop] = []
        for loop in eventLoopGroup.makeIterator() {
            loops.append(loop)
        }
        self.environment = GatewayEnvironment(
            configuration: configuration,
            eventLoops: loops,
            apps: apps,
            observer: observer,
            replay: replay,
            acknowledgements: acknowledgements,
            logger: logger
        )
    }

    /// The node's id, as sessions report it.
    public var nodeID: String { self.configuration.nodeID }

    /// Buckets for the gateway's timers, by metric label, for a metrics factory that takes
    /// them (Prometheus's `durationHistogramBuckets`): its slices and hand-overs take about
    /// a millisecond, finer than a factory's usual buckets.
    public static var timerHistogramBuckets: [String: [Duration]] { GatewayMetrics.timerBuckets }

    /// Counters of this gateway, cheap to read from any thread.
    public var stats: GatewayStats {
        self.environment.counters.snapshot
    }

    /// Waits until both servers are listening and returns their addresses (with the real
    /// ports when the configuration asked for port 0). Throws if binding failed.
    public func waitUntilBound() async throws -> BoundAddresses {
        try await withCheckedThrowingContinuation { continuation in
            let ready: Result<BoundAddresses, any Error>? = self.bindState.withLockedValue { state in
                switch state {
                case .waiting(var waiters):
                    waiters.append(continuation)
                    state = .waiting(waiters)
                    return nil
                case .bound(let addresses):
                    return .success(addresses)
                case .failed(let error):
                    return .failure(error)
                }
            }
            if let ready {
                continuation.resume(with: ready)
            }
        }
    }

    /// Binds both servers, serves until graceful shutdown or cancellation, then drains
    /// within the configured drain timeout.
    public func run() async throws {
        for shard in self.environment.shards {
            shard.start()
        }
        let servers: [any Channel]
        let addresses: BoundAddresses
        do {
            let tcp = try await self.bindTCP()
            do {
                let webSocket = try await self.bindWebSocket()
                servers = tcp + webSocket
                guard let tcpAddress = tcp.first?.localAddress, let webSocketAddress = webSocket.first?.localAddress
                else {
                    for server in webSocket { try? await server.close() }
                    throw StartError("a server channel has no local address")
                }
                addresses = BoundAddresses(tcp: tcpAddress, webSocket: webSocketAddress)
                self.finishBinding(.success(addresses))
            } catch {
                for server in tcp { try? await server.close() }
                throw error
            }
        } catch {
            self.finishBinding(.failure(error))
            await self.stopShards()
            throw error
        }
        self.logger.debug(
            "gateway listening",
            metadata: [
                "gateway.tcp": "\(addresses.tcp)",
                "gateway.websocket": "\(addresses.webSocket)",
                "gateway.listeners": "\(servers.count)",
            ]
        )
        // Cancellation ends serving too; either way the node drains before returning.
        try? await gracefulShutdown()
        await self.drain(servers: servers)
    }

    // MARK: PushDelivery

    // User messages are handed to the loops that hold the users' sessions and not waited for:
    // a loop writes them as its next task, between two slices of whatever fan-out it is
    // writing. The counts come from each loop's session index, as it stood at the hand-over.

    /// Hands a QoS 0 user message (kind 0, seq 0) to the loops with sessions of the users;
    /// returns the number of those sessions.
    public func sendToUsers(app: String, users: [String], payload: ByteBuffer) async -> Int {
        await self.handOff(counting: { $0.countSessions(app: app, users: users) }) {
            _ = $0.sendToUsers(app: app, users: users, payload: payload)
        }
    }

    /// Hands a stored QoS 1 message over, each user's copy with its inbox sequence and
    /// `ACK_REQUIRED`; returns the number of the users' sessions.
    public func sendStored(app: String, deliveries: [UserSequence], payload: ByteBuffer) async -> Int {
        await self.handOff(counting: { $0.countSessions(app: app, deliveries: deliveries) }) {
            _ = $0.sendStored(app: app, deliveries: deliveries, payload: payload)
        }
    }

    /// Runs `write` as a task of each loop where `count` finds any session, and adds up the
    /// counts. Waits only while a loop has 64 such writes not yet run (back pressure).
    private func handOff(
        counting count: (EventLoopShard) -> Int,
        _ write: @escaping @Sendable (EventLoopShard) -> Void
    ) async -> Int {
        var total = 0
        for shard in self.environment.shards {
            var sessions = count(shard)
            guard sessions > 0 else { continue }
            // Counted again after a wait, as the sessions the message was handed to.
            if await shard.userAdmission.admit() { sessions = count(shard) }
            total += sessions
            self.run(write, on: shard)
        }
        return total
    }

    /// Runs `write` as the shard's next task and gives back its room when it starts.
    private func run(_ write: @escaping @Sendable (EventLoopShard) -> Void, on shard: EventLoopShard) {
        let handedOver = NIODeadline.now()
        let metrics = self.environment.metrics
        shard.eventLoop.execute {
            metrics.handOverWait.recordNanoseconds((NIODeadline.now() - handedOver).nanoseconds)
            shard.userAdmission.taken(1)
            write(shard)
        }
    }

    /// Hands several user messages over, in order, with one task per event loop; returns each
    /// one's number of sessions.
    public func sendUserMessages(app: String, _ messages: [UserDelivery]) async -> [Int] {
        var total = [Int](repeating: 0, count: messages.count)
        for shard in self.environment.shards {
            var counts = Self.counts(of: messages, app: app, on: shard)
            guard counts.contains(where: { $0 > 0 }) else { continue }
            if await shard.userAdmission.admit() { counts = Self.counts(of: messages, app: app, on: shard) }
            for (index, sessions) in counts.enumerated() {
                total[index] += sessions
            }
            self.run({ _ = $0.sendUserMessages(app: app, messages) }, on: shard)
        }
        return total
    }

    /// Each message's sessions on `shard`.
    private static func counts(of messages: [UserDelivery], app: String, on shard: EventLoopShard) -> [Int] {
        messages.map { message in
            switch message {
            case .live(let users, _): shard.countSessions(app: app, users: users)
            case .stored(let deliveries, _): shard.countSessions(app: app, deliveries: deliveries)
            }
        }
    }

    /// Queues a broadcast (kind 1, seq = `seq`) for every online session of the app and returns
    /// the number of those sessions: each event loop's fan-out pass writes it, a slice at a
    /// time, together with whatever else is queued by then. It waits for no pass, unless a loop
    /// already has ``GatewayConfiguration/fanOutQueueLimit`` messages waiting for its next one:
    /// then until the running pass ends (back pressure on a publisher faster than the devices).
    public func broadcast(app: String, seq: UInt32, payload: ByteBuffer) async -> Int {
        var sessions = 0
        for shard in self.environment.shards {
            sessions += await shard.broadcast(app: app, seq: seq, payload: payload)
        }
        return sessions
    }

    /// Queues a topic message (kind 2, seq 0) for the sessions subscribed to `topic` and returns
    /// the number of those sessions, as ``broadcast(app:seq:payload:)`` does.
    public func publish(app: String, topic: String, payload: ByteBuffer) async -> Int {
        var sessions = 0
        for shard in self.environment.shards {
            sessions += await shard.publish(app: app, topic: topic, payload: payload)
        }
        return sessions
    }

    /// Ends the user's sessions (all, or those of `device`) with GOAWAY `kicked`.
    public func kick(app: String, user: String, device: String?) async -> Int {
        await self.fanOut { $0.endSessions(app: app, user: user, device: device, reason: .kicked) }
    }

    // MARK: Private

    /// Runs `body` once on every event loop, with that loop's shard, and gathers the results.
    func everyShard<Result: Sendable>(_ body: @escaping @Sendable (EventLoopShard) -> Result) async -> [Result] {
        let futures = self.environment.shards.map { shard in
            shard.eventLoop.submit { body(shard) }
        }
        var results: [Result] = []
        results.reserveCapacity(futures.count)
        for future in futures {
            if let result = try? await future.get() { results.append(result) }
        }
        return results
    }

    /// Runs `body` once on every event loop, with that loop's shard, and adds up the results.
    private func fanOut(_ body: @escaping @Sendable (EventLoopShard) -> Int) async -> Int {
        await self.everyShard(body).reduce(0, +)
    }

    private func finishBinding(_ result: Result<BoundAddresses, any Error>) {
        let waiters: [CheckedContinuation<BoundAddresses, any Error>] = self.bindState.withLockedValue { state in
            guard case .waiting(let waiters) = state else { return [] }
            switch result {
            case .success(let addresses): state = .bound(addresses)
            case .failure(let error): state = .failed(error)
            }
            return waiters
        }
        for waiter in waiters {
            waiter.resume(with: result)
        }
    }

    /// Sets the options of an accepted channel, directly rather than as the bootstrap's child
    /// options, which NIO applies one future at a time for every connection.
    private static func configureChild(_ channel: any Channel, maxOutboundBytes: Int) throws {
        guard let options = channel.syncOptions else { return }
        // Small receive buffers: most connections are idle and a frame is usually small.
        try options.setOption(
            .recvAllocator,
            value: CompactRecvByteBufferAllocator(minimum: 64, initial: 256, maximum: 8192)
        )
        // Past `maxOutboundBytes` queued the channel turns unwritable and the handler closes it.
        let outbound = max(maxOutboundBytes, 2)
        try options.setOption(
            .writeBufferWaterMark,
            value: ChannelOptions.Types.WriteBufferWaterMark(low: outbound / 2, high: outbound)
        )
    }

    /// Puts the TLS handler first in an accepted channel's pipeline, with the context current
    /// at accept; without TLS the pipeline stays as it was.
    private static func addTLS(_ tls: ServerTLSContext?, to channel: any Channel) throws {
        guard let tls else { return }
        try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls.current))
    }

    /// Listeners on `port` whose accepted channels are configured, given their loop's shard,
    /// TLS when `tls` is set, and handed to `setUp`; or, over the accept limits, handed to
    /// `refuse` at once.
    private func bind(
        port: Int,
        tls: ServerTLSContext?,
        refuse: @escaping @Sendable (any Channel, AcceptLimiter.Verdict) throws -> Void,
        setUp: @escaping @Sendable (any Channel, EventLoopShard) throws -> Void
    ) async throws -> [any Channel] {
        let environment = self.environment
        let limiter = environment.acceptLimiter
        let logger = self.logger
        let maxOutboundBytes = self.configuration.maxOutboundBytes
        let options = GatewayListeners.Options(
            host: self.configuration.host, port: port, backlog: self.configuration.backlog)
        return try await GatewayListeners.bind(options, group: self.eventLoopGroup) { channel in
            channel.eventLoop.makeCompletedFuture {
                guard let shard = environment.shard(for: channel.eventLoop) else {
                    throw StartError("connection on an event loop outside the gateway's group")
                }
                if limiter.isActive {
                    let address = channel.remoteAddress
                    let verdict = limiter.admit(address)
                    guard verdict == .admit else {
                        environment.counters.connectionRefused()
                        environment.metrics.connectionsRefused.increment()
                        logger.debug(
                            "Refused a connection over the accept limits.",
                            metadata: ["gateway.refusal": "\(verdict)", "peer": "\(address?.ipAddress ?? "unknown")"]
                        )
                        try refuse(channel, verdict)
                        return
                    }
                    if limiter.countsAddresses {
                        // Only with that limit set does every connection keep this callback.
                        channel.closeFuture.whenComplete { _ in limiter.release(address) }
                    }
                }
                try Self.configureChild(channel, maxOutboundBytes: maxOutboundBytes)
                try Self.addTLS(tls, to: channel)
                try setUp(channel, shard)
            }
        }
    }

    private func bindTCP() async throws -> [any Channel] {
        let environment = self.environment
        return try await self.bind(
            port: self.configuration.tcpPort,
            tls: self.configuration.tcpTLS,
            refuse: { channel, _ in channel.close(promise: nil) }
        ) { channel, shard in
            try channel.pipeline.syncOperations.addHandler(
                ConnectionHandler(framing: .stream, environment: environment, shard: shard)
            )
        }
    }

    private func bindWebSocket() async throws -> [any Channel] {
        let environment = self.environment
        let path = self.configuration.webSocketPath
        let maxMessageSize = environment.maxWebSocketMessageSize
        // Raised by the connection at its first AUTH_OK.
        let maxMessageSizeBeforeAuth = environment.maxWebSocketMessageSizeBeforeAuth
        let fallbackName = "herald.http-fallback"
        let upgradeTimeout = max(self.configuration.authTimeout, .seconds(10))
        let tls = self.configuration.webSocketTLS
        let refuse: @Sendable (any Channel, AcceptLimiter.Verdict) throws -> Void = { channel, verdict in
            // Answered 503 once the request is read; closed meanwhile if none comes.
            channel.eventLoop.scheduleTask(in: TimeAmount(upgradeTimeout)) { channel.close(promise: nil) }
            try Self.addTLS(tls, to: channel)
            try channel.pipeline.syncOperations.configureHTTPServerPipeline()
            try channel.pipeline.syncOperations.addHandler(ServiceUnavailableHandler(reason: verdict.reason))
        }
        return try await self.bind(port: self.configuration.webSocketPort, tls: tls, refuse: refuse) { channel, shard in
            // A connection that never completes its upgrade must not hold a socket
            // forever. Not the auth timeout itself: that starts again after the
            // upgrade, and a short one would cut off upgrades slowed by load.
            // Cancelled by the upgrade; a connection that closes first leaves it to fire
            // on a closed channel, which does nothing (a close callback to cancel it
            // would be kept by every upgraded connection for its whole life).
            let upgradeDeadline = channel.eventLoop.scheduleTask(in: TimeAmount(upgradeTimeout)) {
                channel.close(promise: nil)
            }
            let upgrader = WebSocketUpgrader(
                path: path,
                maxMessageSize: maxMessageSize,
                maxMessageSizeBeforeAuth: maxMessageSizeBeforeAuth
            ) { channel in
                upgradeDeadline.cancel()
                try channel.pipeline.syncOperations.addHandler(
                    ConnectionHandler(framing: .messages, environment: environment, shard: shard)
                )
            }
            try channel.pipeline.syncOperations.configureHTTPServerPipeline(
                withServerUpgrade: (
                    upgraders: [upgrader],
                    completionHandler: { context in
                        context.pipeline.removeHandler(name: fallbackName, promise: nil)
                    }
                )
            )
            try channel.pipeline.syncOperations.addHandler(
                HTTPFallbackHandler(webSocketPath: path),
                name: fallbackName
            )
        }
    }

    private func drain(servers: [any Channel]) async {
        // Stop accepting first, so that nothing new arrives during the drain.
        for server in servers {
            try? await server.close()
        }
        await self.drainShards()
        await self.stopShards()
        self.logger.debug("gateway drained")
    }

    /// Sends every connection GOAWAY `draining` and waits until they closed, closing those
    /// still open after the drain timeout.
    func drainShards() async {
        let retryAfterMs = self.configuration.drainRetryAfterMs
        let timeout = TimeAmount(self.configuration.drainTimeout)
        let drained = self.environment.shards.map { shard in
            shard.eventLoop.flatSubmit {
                let closes = shard.drain(retryAfterMs: retryAfterMs)
                let deadline = shard.eventLoop.scheduleTask(in: timeout) { shard.closeAll() }
                let all = EventLoopFuture.andAllComplete(closes, on: shard.eventLoop)
                all.whenComplete { _ in deadline.cancel() }
                return all
            }
        }
        for future in drained {
            try? await future.get()
        }
    }

    private func stopShards() async {
        for shard in self.environment.shards {
            try? await shard.eventLoop.submit { shard.stop() }.get()
        }
    }
}
