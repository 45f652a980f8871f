import HeraldWire
import NIOCore
import NIOWebSocket

/// The whole WebSocket layer of an upgraded connection in one handler: binary messages in
/// as buffers for a ``ConnectionHandler``, buffers out as binary messages.
///
/// One handler instead of NIOWebSocket's decoder, encoder, error handler and aggregator plus
/// an adapter: each costs a handler and a pipeline context, and every idle WebSocket
/// connection kept all five (about 1.1 KB). The frames are read by ``WebSocketFrameParser``.
///
/// A text message is a protocol error (`bad_frame`, then close); pings are answered with
/// pongs; a close is answered with a close and the connection ends; a malformed frame or an
/// oversized message gets a close frame with the RFC 6455 status code. Closing the channel
/// sends a close frame first.
final class WebSocketFrameCodec: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = Outbound
    typealias OutboundOut = ByteBuffer

    /// What the handler behind the codec writes.
    enum Outbound {
        /// One protocol frame, to go out as one binary message.
        case message(ByteBuffer)
        /// Binary messages already framed (a fan-out batch, framed once for every
        /// WebSocket connection it goes to): written as they are.
        case framed(ByteBuffer)
    }

    private var parser: WebSocketFrameParser
    /// Bytes of a frame that is not complete yet.
    private var partial = PartialInput()
    private var sentClose = false
    /// Set on a malformed frame or the peer's close: what follows is not read.
    private var stopped = false

    init(maxMessageSize: Int) {
        self.parser = WebSocketFrameParser(maxMessageSize: maxMessageSize)
    }

    /// Accepts messages up to `size` from now on (the connection's first AUTH_OK lifts the
    /// smaller limit of an unauthenticated connection). Never lowers the limit.
    func raiseMessageLimit(to size: Int) {
        self.parser.maxMessageSize = max(self.parser.maxMessageSize, size)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !self.stopped else { return }
        var buffer = self.partial.joined(with: Self.unwrapInboundIn(data))
        do {
            while !self.stopped, context.channel.isActive, let event = try self.parser.next(from: &buffer) {
                self.handle(event, context: context)
            }
        } catch {
            self.fail(error, context: context)
            return
        }
        guard !self.stopped else { return }
        self.partial.keep(buffer, allocator: context.channel.allocator)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        guard !self.sentClose else {
            promise?.fail(ChannelError.outputClosed)
            return
        }
        switch Self.unwrapOutboundIn(data) {
        case .message(let payload):
            self.writeFrame(opcode: WebSocketServerFrame.binary, payload: payload, context: context, promise: promise)
        case .framed(let frames):
            context.write(Self.wrapOutboundOut(frames), promise: promise)
        }
    }

    func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        guard mode == .all, !self.sentClose, context.channel.isActive else {
            context.close(mode: mode, promise: promise)
            return
        }
        // A clean WebSocket close: the close frame goes out first.
        self.sendClose(.normalClosure, context: context)
        context.close(mode: mode, promise: promise)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.partial.clear()
    }

    private func handle(_ event: WebSocketFrameParser.Event, context: ChannelHandlerContext) {
        switch event {
        case .binary(let message):
            context.fireChannelRead(Self.wrapInboundOut(message))
        case .text:
            context.fireErrorCaught(
                ProtocolError(.badFrame, "text WebSocket messages are not allowed; send each frame as a binary message")
            )
        case .ping(let payload):
            guard !self.sentClose else { return }
            self.writeFrame(opcode: WebSocketServerFrame.pong, payload: payload, context: context, promise: nil)
            context.flush()
        case .pong:
            break
        case .close(let code):
            // Nothing may follow a close frame (RFC 6455, 5.5.1).
            self.stopped = true
            guard !self.sentClose else {
                // This answers our own close: the handshake is complete.
                context.close(promise: nil)
                return
            }
            let channel = context.channel
            self.sendClose(code ?? .normalClosure, context: context).whenComplete { _ in
                channel.close(promise: nil)
            }
        }
    }

    private func fail(_ failure: WebSocketFrameParser.Failure, context: ChannelHandlerContext) {
        self.stopped = true
        self.partial.clear()
        guard !self.sentClose else {
            context.close(promise: nil)
            return
        }
        let channel = context.channel
        self.sendClose(failure.code, context: context).whenComplete { _ in
            channel.close(promise: nil)
        }
    }

    @discardableResult
    private func sendClose(_ code: WebSocketErrorCode, context: ChannelHandlerContext) -> EventLoopFuture<Void> {
        self.sentClose = true
        var payload = context.channel.allocator.buffer(capacity: 2)
        payload.write(webSocketErrorCode: code)
        let promise = context.eventLoop.makePromise(of: Void.self)
        self.writeFrame(opcode: WebSocketServerFrame.close, payload: payload, context: context, promise: promise)
        context.flush()
        return promise.futureResult
    }

    /// A server frame: never masked, always final. The header is a write of its own: the
    /// payload is often a slice that many connections share (a broadcast), and the two
    /// go out in one `writev`.
    private func writeFrame(
        opcode: UInt8,
        payload: ByteBuffer,
        context: ChannelHandlerContext,
        promise: EventLoopPromise<Void>?
    ) {
        let length = payload.readableBytes
        var header = context.channel.allocator.buffer(capacity: WebSocketServerFrame.headerSize(payloadLength: length))
        WebSocketServerFrame.writeHeader(opcode: opcode, payloadLength: length, into: &header)
        context.write(Self.wrapOutboundOut(header), promise: nil)
        context.write(Self.wrapOutboundOut(payload), promise: promise)
    }
}
