import HeraldWire
import NIOCore
import NIOWebSocket

/// Turns WebSocket messages into frame buffers for a ``ConnectionHandler`` and back.
///
/// Inbound: a binary message is passed on as one buffer; a text message is a protocol
/// error (`bad_frame`, then close); pings are answered with pongs; a close is answered
/// with a close and the connection ends. Outbound: each buffer (one frame) becomes one
/// binary message, and closing the channel sends a close frame first.
final class WebSocketFrameAdapter: ChannelDuplexHandler {
    typealias InboundIn = WebSocketFrame
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = WebSocketFrame

    private var sentClose = false

    init() {}

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = Self.unwrapInboundIn(data)
        switch frame.opcode {
        case .binary:
            context.fireChannelRead(Self.wrapInboundOut(frame.unmaskedData))
        case .text:
            context.fireErrorCaught(
                ProtocolError(.badFrame, "text WebSocket messages are not allowed; send each frame as a binary message")
            )
        case .ping:
            guard !self.sentClose else { return }
            let pong = WebSocketFrame(fin: true, opcode: .pong, data: frame.unmaskedData)
            context.writeAndFlush(Self.wrapOutboundOut(pong), promise: nil)
        case .pong:
            break
        case .connectionClose:
            self.receivedClose(context: context, frame: frame)
        default:
            // Continuations are joined by the aggregator before this handler; anything else is unknown.
            context.fireErrorCaught(ProtocolError(.badFrame, "unexpected WebSocket opcode"))
        }
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let buffer = Self.unwrapOutboundIn(data)
        guard !self.sentClose else {
            promise?.fail(ChannelError.outputClosed)
            return
        }
        context.write(Self.wrapOutboundOut(WebSocketFrame(fin: true, opcode: .binary, data: buffer)), promise: promise)
    }

    func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        guard mode == .all, !self.sentClose, context.channel.isActive else {
            context.close(mode: mode, promise: promise)
            return
        }
        // A clean WebSocket close: the close frame goes out first.
        self.sentClose = true
        var data = context.channel.allocator.buffer(capacity: 2)
        data.write(webSocketErrorCode: .normalClosure)
        let closeFrame = WebSocketFrame(fin: true, opcode: .connectionClose, data: data)
        context.writeAndFlush(Self.wrapOutboundOut(closeFrame), promise: nil)
        context.close(mode: mode, promise: promise)
    }

    private func receivedClose(context: ChannelHandlerContext, frame: WebSocketFrame) {
        guard !self.sentClose else {
            // This answers our own close: the handshake is complete.
            context.close(promise: nil)
            return
        }
        self.sentClose = true
        var data = frame.unmaskedData
        let code = data.readWebSocketErrorCode() ?? .normalClosure
        var reply = context.channel.allocator.buffer(capacity: 2)
        reply.write(webSocketErrorCode: code)
        let closeFrame = WebSocketFrame(fin: true, opcode: .connectionClose, data: reply)
        let channel = context.channel
        context.writeAndFlush(Self.wrapOutboundOut(closeFrame)).whenComplete { _ in
            channel.close(promise: nil)
        }
    }
}
