import HeraldTLS
import HeraldWire
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import NIOWebSocket

/// A Herald client: one connection to a gateway carrying one session, kept alive and
/// re-established until the client is closed or the server ends the session for good.
///
/// ```swift
/// let client = HeraldClient(configuration: .init(transport: .tcp(host: "127.0.0.1", port: 7070), token: token))
/// try await withThrowingTaskGroup(of: Void.self) { group in
///     group.addTask { try await client.run() }
///     for await event in client.events {
///         if case .push(let push) = event { print(String(buffer: push.payload)) }
///     }
/// }
/// ```
///
/// ``run()`` connects, authenticates, pings at the server's heartbeat interval and reconnects
/// with backoff; ``events`` reports what happens. Requests (``subscribe(_:)``,
/// ``unsubscribe(_:)``, ``sendUpstream(_:)-(ByteBuffer)``) need an authenticated connection.
public final class HeraldClient: Sendable {
    /// The configuration the client was created with.
    public let configuration: HeraldClientConfiguration
    /// The client's events: connections, pushes, GOAWAYs and disconnections. One consumer only.
    public let events: HeraldClientEvents

    private let eventLoop: any EventLoop
    private let driver: NIOLoopBoundBox<ClientDriver>
    private let logger: Logger
    private let started = NIOLockedValueBox(false)

    /// Creates a client. Nothing happens until ``run()`` is called.
    ///
    /// - Parameters:
    ///   - configuration: Where to connect and how.
    ///   - eventLoopGroup: The group to take the client's event loop from; all of the client's
    ///     connections and timers run on that one loop.
    ///   - logger: Where the client logs, at debug level and below.
    public init(
        configuration: HeraldClientConfiguration,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger = Logger(label: "herald.client")
    ) {
        self.configuration = configuration
        self.logger = logger
        let eventLoop = eventLoopGroup.next()
        self.eventLoop = eventLoop
        let driver = NIOLoopBoundBox.makeBoxSendingValue(
            ClientDriver(configuration: configuration, eventLoop: eventLoop, logger: logger),
            eventLoop: eventLoop
        )
        self.driver = driver
        let highWatermark = configuration.eventBufferSize
        let sequence = ClientDriver.Events.makeSequence(
            backPressureStrategy: .init(lowWatermark: max(highWatermark / 2, 1), highWatermark: highWatermark),
            finishOnDeinit: true,
            delegate: EventsDelegate(driver: driver)
        )
        let source = sequence.source
        // Tasks of one event loop run in order: this runs before anything run() submits.
        eventLoop.execute { driver.value.source = source }
        let acknowledge: (@Sendable (UInt32) -> Void)?
        switch configuration.acknowledgement {
        case .automatic:
            acknowledge = { seq in eventLoop.execute { driver.value.acknowledge(seq) } }
        case .manual:
            acknowledge = nil
        }
        self.events = HeraldClientEvents(base: sequence.sequence, acknowledge: acknowledge)
    }

    /// Connects and keeps the session alive until ``close()`` is called, the calling task is
    /// cancelled (both return normally), or the client stops for good, which throws:
    /// ``HeraldClientError/authenticationFailed(_:)`` (the token was refused),
    /// ``HeraldClientError/sessionEnded(_:)`` (GOAWAY `replaced` or `kicked`), or the error of
    /// the token provider. ``events`` finishes when this returns. Call it once.
    public func run() async throws {
        guard self.started.withLockedValue({ started in defer { started = true }; return !started }) else {
            throw HeraldClientError.alreadyRunning
        }
        let driver = self.driver
        // Through the event loop, so that events reported just before are delivered first.
        defer { driver.eventLoop.execute { driver.value.finishEvents() } }
        try await withTaskCancellationHandler {
            try await self.connectionLoop()
        } onCancel: {
            driver.eventLoop.execute { _ = driver.value.close() }
        }
    }

    /// Closes the connection and stops reconnecting; ``run()`` then returns. Waits until the
    /// connection is closed.
    public func close() async {
        let driver = self.driver
        try? await self.eventLoop.flatSubmit { driver.value.close() }.get()
    }

    /// Subscribes the session to topics, and re-subscribes them after every reconnect.
    ///
    /// - Throws: ``HeraldClientError/server(_:)`` with the server's ERROR (`forbidden_topic`, ...),
    ///   ``HeraldClientError/notConnected``, ``HeraldClientError/timedOut`` or
    ///   ``HeraldClientError/connectionClosed``.
    public func subscribe(_ topics: [String]) async throws {
        let driver = self.driver
        try await self.eventLoop.flatSubmit { driver.value.subscribe(topics) }.get()
    }

    /// Unsubscribes the session from topics. Throws like ``subscribe(_:)``.
    public func unsubscribe(_ topics: [String]) async throws {
        let driver = self.driver
        try await self.eventLoop.flatSubmit { driver.value.unsubscribe(topics) }.get()
    }

    /// Sends bytes to the app's backend; returns once the server has durably queued them
    /// (UPSTREAM_OK).
    ///
    /// - Throws: ``HeraldClientError/server(_:)`` (`upstream_unavailable`, `rate_limited`: retry
    ///   later), or the other errors of ``subscribe(_:)``.
    public func sendUpstream(_ payload: ByteBuffer) async throws {
        let driver = self.driver
        try await self.eventLoop.flatSubmit { driver.value.upstream(payload) }.get()
    }

    /// Sends bytes to the app's backend. See ``sendUpstream(_:)-(ByteBuffer)``.
    public func sendUpstream(_ bytes: some Sequence<UInt8>) async throws {
        try await self.sendUpstream(ByteBuffer(bytes: bytes))
    }

    /// Acknowledges a QoS 1 push and every earlier one, in
    /// ``HeraldClientConfiguration/Acknowledgement/manual`` mode (harmless in automatic mode).
    /// Pushes that need no ACK are ignored.
    public func acknowledge(_ push: HeraldPush) {
        guard push.ackRequired, push.kind == .user else { return }
        let driver = self.driver
        self.eventLoop.execute { driver.value.acknowledge(push.seq) }
    }

    /// Where the client's streams stand, to persist and pass back in
    /// ``HeraldClientConfiguration/resume`` on the next start.
    public func cursors() async -> HeraldResumeCursors {
        let driver = self.driver
        return (try? await self.eventLoop.submit { driver.value.cursors }.get()) ?? HeraldResumeCursors()
    }

    /// The session of the current connection, if it is authenticated.
    public func session() async -> HeraldSession? {
        let driver = self.driver
        return try? await self.eventLoop.submit { driver.value.session }.get()
    }

    // MARK: Connecting

    private func connectionLoop() async throws {
        let driver = self.driver
        var random = SystemRandomNumberGenerator()
        if case .webSocket(let url) = self.configuration.transport, WebSocketURL(url) == nil {
            throw HeraldClientError.invalidURL(url)
        }
        while true {
            let token: String
            do {
                token = try await self.configuration.tokenProvider()
            } catch {
                if Task.isCancelled { return }
                throw error
            }
            let outcome = self.eventLoop.flatSubmit { driver.value.beginConnection(token: token) }
            do {
                try await self.openChannel()
            } catch {
                self.eventLoop.execute { driver.value.connectFailed(error) }
            }
            switch try await outcome.get() {
            case .stop(let reason):
                self.report(.disconnected(HeraldDisconnect(reason: reason, reconnectAfter: nil)))
                switch reason {
                case .authenticationFailed(let body): throw HeraldClientError.authenticationFailed(body)
                case .goaway(let goaway): throw HeraldClientError.sessionEnded(goaway)
                default: return
                }
            case .reconnect(let delay, let reason):
                let wait: Duration
                switch delay {
                case .backoff(let attempt):
                    wait = self.configuration.reconnect.delay(attempt: attempt, using: &random)
                case .retryAfter(let retryAfter):
                    wait = self.configuration.reconnect.delay(retryAfter: Duration(retryAfter), using: &random)
                }
                self.logger.debug("Herald reconnecting", metadata: ["herald.reason": "\(reason)", "herald.delay": "\(wait)"])
                self.report(.disconnected(HeraldDisconnect(reason: reason, reconnectAfter: wait)))
                let proceed = try await self.eventLoop.flatSubmit { driver.value.waitToReconnect(TimeAmount(wait)) }
                    .get()
                guard proceed else {
                    self.report(.disconnected(HeraldDisconnect(reason: .closedByClient, reconnectAfter: nil)))
                    return
                }
            }
        }
    }

    /// Reports an event through the driver, so that it counts against the consumer's buffer.
    private func report(_ event: HeraldClientEvent) {
        let driver = self.driver
        self.eventLoop.execute { driver.value.yield(event) }
    }

    /// Opens one connection; its handlers report to the driver from then on.
    private func openChannel() async throws {
        let driver = self.driver
        let maxFrameLength = self.configuration.maxFrameLength
        let bootstrap = ClientBootstrap(group: self.eventLoop)
            .connectTimeout(TimeAmount(self.configuration.connectTimeout))
            .channelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
        switch self.configuration.transport {
        case .tcp(let host, let port), .tls(let host, let port):
            let tls = try self.tlsContext(for: self.configuration.transport)
            try await bootstrap.connect(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    driver.value.attach(channel)
                    if let tls {
                        try Self.addTLS(tls, host: host, to: channel, driver: driver)
                    }
                    try channel.pipeline.syncOperations.addHandlers(
                        ByteToMessageHandler(FrameStreamDecoder(maximumLength: maxFrameLength)),
                        MessageToByteHandler(FrameStreamEncoder()),
                        HeraldClientChannelHandler(driver: driver.value)
                    )
                }
            }
        case .webSocket(let string):
            guard let url = WebSocketURL(string) else { throw HeraldClientError.invalidURL(string) }
            let tls = try self.tlsContext(for: self.configuration.transport)
            let upgraded = try await bootstrap.connect(host: url.host, port: url.port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    driver.value.attach(channel)
                    if let tls {
                        try Self.addTLS(tls, host: url.host, to: channel, driver: driver)
                    }
                    return try Self.configureWebSocket(channel, url: url, maxFrameLength: maxFrameLength, driver: driver)
                }
            }
            guard let channel = try await upgraded.get() else { throw WebSocketUpgradeRefused() }
            // A later tick: the HTTP upgrade handler has left the pipeline by then.
            self.eventLoop.execute { driver.value.connectionReady(channel) }
        }
    }

    /// The TLS context of a `tls://` or `wss://` transport, made for each attempt so that a
    /// CA file replaced meanwhile is read again; nil for a plain one.
    private func tlsContext(for transport: HeraldClientConfiguration.Transport) throws -> NIOSSLContext? {
        switch transport {
        case .tcp: return nil
        case .tls: break
        case .webSocket(let string):
            guard WebSocketURL(string)?.secure == true else { return nil }
        }
        let settings = self.configuration.tls
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.minimumTLSVersion = .tlsv12
        configuration.certificateVerification = settings.verifiesHostname ? .fullVerification : .noHostnameVerification
        do {
            switch settings.trustRoots {
            case .system:
                break
            case .pemFile(let path):
                configuration.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(path))
            case .pem(let text):
                configuration.trustRoots = .certificates(try NIOSSLCertificate.fromPEMBytes(Array(text.utf8)))
            }
            return try NIOSSLContext(configuration: configuration)
        } catch {
            throw TLSSetupFailure(trustRoots: settings.trustRoots, error: error)
        }
    }

    /// Puts the TLS handler first, and behind it the handler that waits for its handshake.
    private static func addTLS(
        _ context: NIOSSLContext, host: String, to channel: any Channel, driver: NIOLoopBoundBox<ClientDriver>
    ) throws {
        try channel.pipeline.syncOperations.addHandlers(
            NIOSSLClientHandler(context: context, serverHostname: TLSServerName.forHost(host)),
            TLSHandshakeHandler(driver: driver.value, host: host)
        )
    }

    /// Adds the HTTP client handlers that upgrade the connection to WebSocket, then the frame handlers.
    private static func configureWebSocket(
        _ channel: any Channel,
        url: WebSocketURL,
        maxFrameLength: Int,
        driver: NIOLoopBoundBox<ClientDriver>
    ) throws -> EventLoopFuture<(any Channel)?> {
        let upgrader = NIOTypedWebSocketClientUpgrader<(any Channel)?>(
            maxFrameSize: maxFrameLength + Frame.headerSize,
            upgradePipelineHandler: { channel, _ in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandlers(
                        NIOWebSocketFrameAggregator(
                            minNonFinalFragmentSize: 0,
                            maxAccumulatedFrameCount: 64,
                            maxAccumulatedFrameSize: maxFrameLength + Frame.headerSize
                        ),
                        WebSocketFrameAdapter(maximumLength: maxFrameLength),
                        HeraldClientChannelHandler(driver: driver.value)
                    )
                    return channel
                }
            }
        )
        var headers = HTTPHeaders()
        headers.add(name: "Host", value: url.hostHeader)
        headers.add(name: "Content-Length", value: "0")
        let head = HTTPRequestHead(version: .http1_1, method: .GET, uri: url.path, headers: headers)
        let upgrade = NIOTypedHTTPClientUpgradeConfiguration<(any Channel)?>(
            upgradeRequestHead: head,
            upgraders: [upgrader],
            notUpgradingCompletionHandler: { channel in channel.eventLoop.makeSucceededFuture(nil) }
        )
        var configuration = NIOUpgradableHTTPClientPipelineConfiguration(upgradeConfiguration: upgrade)
        // A frame the server sends right behind its 101 response must reach the WebSocket decoder.
        configuration.leftOverBytesStrategy = .forwardBytes
        return try channel.pipeline.syncOperations.configureUpgradableHTTPClientPipeline(configuration: configuration)
    }
}
