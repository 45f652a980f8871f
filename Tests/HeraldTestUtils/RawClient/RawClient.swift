import HeraldWire
import NIOCore
import NIOPosix
import NIOWebSocket

/// A protocol client written for tests, independent of the SDK: it sends exactly the bytes
/// a test asks for (garbage included) and hands back every frame the server sends.
///
/// Every wait is bounded by a timeout, so a server that stays silent fails the test
/// instead of hanging it. One task at a time may wait on a client.
public final class RawClient: Sendable {
    /// How long a wait for something the server must send lasts unless a test says otherwise.
    /// Generous on purpose: it only runs out when a test is failing anyway, and a loaded
    /// machine (the whole suite at once) can take seconds to answer.
    public static let defaultWait: Duration = .seconds(20)

    /// The transport this client speaks.
    public let transport: Transport
    private let channel: any Channel
    private let inbox: NIOLoopBound<RawInbox>

    private init(transport: Transport, channel: any Channel, inbox: NIOLoopBound<RawInbox>) {
        self.transport = transport
        self.channel = channel
        self.inbox = inbox
    }

    deinit {
        self.channel.close(promise: nil)
    }

    // MARK: Connecting

    /// Connects to `server` over `transport`.
    ///
    /// - Parameter receiveBufferSize: `SO_RCVBUF` for the socket, to make a slow reader fill up sooner.
    public static func connect(
        _ transport: Transport,
        to server: HeraldProcess,
        receiveBufferSize: Int? = nil
    ) async throws -> RawClient {
        switch transport {
        case .tcp:
            try await Self.connect(transport, host: "127.0.0.1", port: server.tcpPort, receiveBufferSize: receiveBufferSize)
        case .webSocket:
            try await Self.connect(
                transport,
                host: "127.0.0.1",
                port: server.webSocketPort,
                receiveBufferSize: receiveBufferSize
            )
        }
    }

    /// Connects to `host:port` over `transport` (WebSocket: path `/ws`).
    public static func connect(
        _ transport: Transport,
        host: String,
        port: Int,
        receiveBufferSize: Int? = nil,
        timeout: Duration = .seconds(10)
    ) async throws -> RawClient {
        var bootstrap = ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connectTimeout(TimeAmount(timeout))
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
        if let receiveBufferSize {
            bootstrap = bootstrap.channelOption(.socketOption(.so_rcvbuf), value: SocketOptionValue(receiveBufferSize))
        }
        switch transport {
        case .tcp:
            let (channel, inbox) = try await bootstrap.connect(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    let inbox = RawInbox(eventLoop: channel.eventLoop)
                    try channel.pipeline.syncOperations.addHandler(RawTCPFrameHandler(inbox: inbox))
                    return (channel, NIOLoopBound(inbox, eventLoop: channel.eventLoop))
                }
            }
            return RawClient(transport: .tcp, channel: channel, inbox: inbox)

        case .webSocket:
            let (channel, inbox, upgraded) = try await bootstrap.connect(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try Self.configureWebSocket(channel: channel, host: host, port: port)
                }
            }
            // A server that never answers the upgrade must not hang the test.
            let guardTimer = channel.eventLoop.scheduleTask(in: TimeAmount(timeout)) {
                channel.close(promise: nil)
            }
            defer { guardTimer.cancel() }
            guard try await upgraded.get() else {
                try? await channel.close()
                throw RawClientError.webSocketUpgradeRefused
            }
            return RawClient(transport: .webSocket, channel: channel, inbox: inbox)
        }
    }

    private static func configureWebSocket(
        channel: any Channel,
        host: String,
        port: Int
    ) throws -> (any Channel, NIOLoopBound<RawInbox>, EventLoopFuture<Bool>) {
        let inbox = RawInbox(eventLoop: channel.eventLoop)
        let upgraded = channel.eventLoop.makePromise(of: Bool.self)
        try channel.pipeline.syncOperations.addHandlers(
            RawWebSocketHandshakeHandler(host: host, port: port, path: "/ws", upgraded: upgraded),
            WebSocketFrameEncoder(),
            ByteToMessageHandler(WebSocketFrameDecoder(maxFrameSize: 64 << 20)),
            WebSocketProtocolErrorHandler(isServer: false),
            NIOWebSocketFrameAggregator(
                minNonFinalFragmentSize: 0,
                maxAccumulatedFrameCount: 1 << 16,
                maxAccumulatedFrameSize: 64 << 20
            ),
            RawWebSocketFrameHandler(inbox: inbox)
        )
        return (channel, NIOLoopBound(inbox, eventLoop: channel.eventLoop), upgraded.futureResult)
    }

    // MARK: Sending

    /// Sends one message as one frame.
    public func send(_ message: ClientMessage) async throws {
        try await self.send(frame: message.frame)
    }

    /// Sends one frame, whatever its op (server ops included).
    public func send(frame: Frame) async throws {
        var buffer = ByteBuffer()
        buffer.writeFrame(frame)
        try await self.sendRaw(buffer)
    }

    /// Sends bytes as they are: on TCP into the stream, on WebSocket as one binary message.
    public func sendRaw(_ bytes: [UInt8]) async throws {
        try await self.sendRaw(ByteBuffer(bytes: bytes))
    }

    /// Sends bytes as they are: on TCP into the stream, on WebSocket as one binary message.
    public func sendRaw(_ buffer: ByteBuffer) async throws {
        switch self.transport {
        case .tcp:
            try await self.channel.writeAndFlush(buffer).get()
        case .webSocket:
            let frame = WebSocketFrame(fin: true, opcode: .binary, maskKey: .random(), data: buffer)
            try await self.channel.writeAndFlush(frame).get()
        }
    }

    /// Sends a WebSocket text message, which the protocol forbids. WebSocket only.
    public func sendWebSocketText(_ text: String) async throws {
        precondition(self.transport == .webSocket, "text messages exist only on WebSocket")
        let frame = WebSocketFrame(fin: true, opcode: .text, maskKey: .random(), data: ByteBuffer(string: text))
        try await self.channel.writeAndFlush(frame).get()
    }

    // MARK: Receiving

    /// The next event, or `nil` if none arrives within `timeout`.
    public func poll(for timeout: Duration) async throws -> RawEvent? {
        let inbox = self.inbox
        let amount = TimeAmount(timeout)
        return try await self.channel.eventLoop.flatSubmit { inbox.value.next(timeout: amount) }.get()
    }

    /// The next event; throws ``RawClientError/timedOut(waitingFor:)`` if none arrives in time.
    public func receiveEvent(timeout: Duration = RawClient.defaultWait) async throws -> RawEvent {
        guard let event = try await self.poll(for: timeout) else {
            throw RawClientError.timedOut(waitingFor: "a frame from the server (\(timeout))")
        }
        return event
    }

    /// The next message from the server. Throws if the connection closes, nothing arrives in
    /// time, or the server sends something that is not a valid frame.
    public func receive(timeout: Duration = RawClient.defaultWait) async throws -> ServerMessage {
        switch try await self.receiveEvent(timeout: timeout) {
        case .frame(let frame):
            do {
                return try ServerMessage(frame)
            } catch {
                throw RawClientError.malformedServerFrame(error)
            }
        case .closed:
            throw RawClientError.connectionClosed
        case .text(let text):
            throw RawClientError.unexpected("WebSocket text message from the server: \(text.prefix(200))")
        case .malformed(let error):
            throw RawClientError.malformedServerFrame(error)
        }
    }

    /// The next message, which must be an ERROR.
    public func receiveError(timeout: Duration = RawClient.defaultWait) async throws -> (seq: UInt32, body: ErrorBody) {
        let message = try await self.receive(timeout: timeout)
        guard case .error(let seq, let body) = message else {
            throw RawClientError.unexpected("\(message) where an ERROR was expected")
        }
        return (seq, body)
    }

    /// The next message, which must be a PUSH.
    public func receivePush(timeout: Duration = RawClient.defaultWait) async throws -> (seq: UInt32, flags: FrameFlags, body: PushBody) {
        let message = try await self.receive(timeout: timeout)
        guard case .push(let seq, let flags, let body) = message else {
            throw RawClientError.unexpected("\(message) where a PUSH was expected")
        }
        return (seq, flags, body)
    }

    /// The next message, which must be a GOAWAY.
    public func receiveGoAway(timeout: Duration = RawClient.defaultWait) async throws -> GoAway {
        let message = try await self.receive(timeout: timeout)
        guard case .goaway(let body) = message else {
            throw RawClientError.unexpected("\(message) where a GOAWAY was expected")
        }
        return body
    }

    /// Waits until the server closes the connection, reading (and counting) whatever frames
    /// still arrive first. Throws if the connection is still open after `timeout`.
    @discardableResult
    public func expectClosed(timeout: Duration = RawClient.defaultWait) async throws -> Int {
        let deadline = ContinuousClock.now + timeout
        var frames = 0
        while true {
            let remaining = deadline - ContinuousClock.now
            guard remaining > .zero, let event = try await self.poll(for: remaining) else {
                throw RawClientError.timedOut(waitingFor: "the server to close the connection (\(timeout))")
            }
            switch event {
            case .closed: return frames
            case .frame, .text, .malformed: frames += 1
            }
        }
    }

    /// Sends PING with `seq` and waits for the matching PONG (any other message is an error).
    public func ping(seq: UInt32 = 0, timeout: Duration = RawClient.defaultWait) async throws {
        try await self.send(.ping(seq: seq))
        let message = try await self.receive(timeout: timeout)
        guard message == .pong(seq: seq) else {
            throw RawClientError.unexpected("\(message) where PONG seq \(seq) was expected")
        }
    }

    /// Sends AUTH and returns the AUTH_OK; throws ``RawClientError/serverError(seq:_:)`` on ERROR.
    @discardableResult
    public func auth(
        token: String,
        seq: UInt32 = 1,
        resume: AuthRequest.Resume? = nil,
        timeout: Duration = RawClient.defaultWait
    ) async throws -> AuthOK {
        try await self.send(.auth(seq: seq, AuthRequest(token: token, resume: resume)))
        let message = try await self.receive(timeout: timeout)
        switch message {
        case .authOK(seq, let ok):
            return ok
        case .error(let errorSeq, let body):
            throw RawClientError.serverError(seq: errorSeq, body)
        default:
            throw RawClientError.unexpected("\(message) in answer to AUTH seq \(seq)")
        }
    }

    // MARK: Flow control and closing

    /// Stops reading from the socket, so the server's writes pile up (a slow reader).
    public func stopReading() async throws {
        try await self.channel.setOption(ChannelOptions.autoRead, value: false).get()
    }

    /// Reads again after ``stopReading()``.
    public func resumeReading() async throws {
        try await self.channel.setOption(ChannelOptions.autoRead, value: true).get()
        self.channel.read()
    }

    /// After ``stopReading()``: reads once from the socket (one buffer's worth), as a reader
    /// that takes what it is sent a little at a time.
    public func readOnce() {
        self.channel.read()
    }

    /// Whether the connection is still open as far as this side knows.
    public var isActive: Bool { self.channel.isActive }

    /// Closes the connection from the client side.
    public func close() async {
        try? await self.channel.close().get()
    }
}
