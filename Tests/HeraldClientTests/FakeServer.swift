import HeraldWire
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOWebSocket

@testable import HeraldClient

/// A tiny scripted Herald server on 127.0.0.1 for the client's socket tests.
///
/// Connection 1: AUTH gets AUTH_OK and a QoS 1 PUSH (seq 5); the ACK of it gets GOAWAY
/// `draining` (retryAfterMs 0) and a close. Later connections: AUTH gets AUTH_OK; SUBSCRIBE
/// gets OK; UPSTREAM gets UPSTREAM_OK. PING always gets PONG.
final class FakeServer: Sendable {
    let port: Int
    private let channel: any Channel
    private let log: NIOLockedValueBox<[ClientMessage]>

    /// Every message received, across connections, in order.
    var received: [ClientMessage] { self.log.withLockedValue { $0 } }

    private init(channel: any Channel, log: NIOLockedValueBox<[ClientMessage]>) {
        self.channel = channel
        self.port = channel.localAddress?.port ?? 0
        self.log = log
    }

    static func start(webSocket: Bool) async throws -> FakeServer {
        let log = NIOLockedValueBox<[ClientMessage]>([])
        let connections = NIOLockedValueBox(0)
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                let index = connections.withLockedValue { count in
                    count += 1
                    return count
                }
                let handler = { @Sendable in FakeConnectionHandler(connection: index, log: log) }
                guard webSocket else {
                    return channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandlers(
                            ByteToMessageHandler(FrameStreamDecoder(maximumLength: Frame.defaultMaximumLength)),
                            MessageToByteHandler(FrameStreamEncoder()),
                            handler()
                        )
                    }
                }
                let upgrader = NIOWebSocketServerUpgrader(
                    shouldUpgrade: { channel, head in
                        channel.eventLoop.makeSucceededFuture(head.uri == "/ws" ? HTTPHeaders() : nil)
                    },
                    upgradePipelineHandler: { channel, _ in
                        channel.eventLoop.makeCompletedFuture {
                            try channel.pipeline.syncOperations.addHandlers(ServerWebSocketAdapter(), handler())
                        }
                    }
                )
                return channel.pipeline.configureHTTPServerPipeline(
                    withServerUpgrade: (upgraders: [upgrader], completionHandler: { _ in })
                )
            }
            .bind(host: "127.0.0.1", port: 0)
            .get()
        return FakeServer(channel: channel, log: log)
    }

    func stop() async throws {
        try await self.channel.close()
    }
}

/// Plays the script of ``FakeServer`` on one connection.
final class FakeConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = Frame
    typealias OutboundOut = Frame

    let connection: Int
    let log: NIOLockedValueBox<[ClientMessage]>

    init(connection: Int, log: NIOLockedValueBox<[ClientMessage]>) {
        self.connection = connection
        self.log = log
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard let message = try? ClientMessage(Self.unwrapInboundIn(data)) else {
            context.close(promise: nil)
            return
        }
        self.log.withLockedValue { $0.append(message) }
        switch message {
        case .auth(let seq, _):
            let ok = AuthOK(
                session: 1, app: "demo", user: "u1", device: "d1", heartbeat: 1, node: "fake-\(self.connection)",
                epoch: "e1", recovered: .init(inbox: true, broadcast: true)
            )
            self.send(.authOK(seq: seq, ok), context: context)
            if self.connection == 1 {
                let push = PushBody(session: 1, kind: .user, payload: ByteBuffer(string: "hello"))
                self.send(.push(seq: 5, flags: .ackRequired, push), context: context)
            }
        case .ack:
            if self.connection == 1 {
                self.send(.goaway(GoAway(session: 0, reason: .draining, reconnect: true, retryAfterMs: 0)), context: context)
                context.close(promise: nil)
            }
        case .ping(let seq):
            self.send(.pong(seq: seq), context: context)
        case .subscribe(let seq, _), .unsubscribe(let seq, _):
            self.send(.ok(seq: seq), context: context)
        case .upstream(let seq, _):
            self.send(.upstreamOK(seq: seq), context: context)
        }
    }

    private func send(_ message: ServerMessage, context: ChannelHandlerContext) {
        context.writeAndFlush(Self.wrapOutboundOut(message.frame), promise: nil)
    }
}

/// Server side of "one binary WebSocket message = one frame" (server frames are not masked).
final class ServerWebSocketAdapter: ChannelDuplexHandler {
    typealias InboundIn = WebSocketFrame
    typealias InboundOut = Frame
    typealias OutboundIn = Frame
    typealias OutboundOut = WebSocketFrame

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let message = Self.unwrapInboundIn(data)
        switch message.opcode {
        case .binary:
            guard let frame = try? FrameDecoder().single(from: message.unmaskedData) else {
                context.close(promise: nil)
                return
            }
            context.fireChannelRead(Self.wrapInboundOut(frame))
        case .connectionClose:
            context.close(promise: nil)
        default:
            break
        }
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        var buffer = context.channel.allocator.buffer(capacity: 64)
        buffer.writeFrame(Self.unwrapOutboundIn(data))
        context.write(Self.wrapOutboundOut(WebSocketFrame(fin: true, opcode: .binary, data: buffer)), promise: promise)
    }
}
