import HeraldWire
import NIOCore
import NIOWebSocket

/// Carries one frame per binary WebSocket message, and answers the WebSocket control frames.
///
/// Sits after `NIOWebSocketFrameAggregator`, so every inbound `WebSocketFrame` is a whole message.
/// Client-to-server frames must be masked (RFC 6455, 5.3).
final class WebSocketFrameAdapter: ChannelDuplexHandler {
    typealias InboundIn = WebSocketFrame
    typealias InboundOut = Frame
    typealias OutboundIn = Frame
    typealias OutboundOut = WebSocketFrame

    private let decoder: FrameDecoder
    private var closeSent = false

    init(maximumLength: Int) {
        self.decoder = FrameDecoder(maximumLength: maximumLength)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let message = Self.unwrapInboundIn(data)
        switch message.opcode {
        case .binary:
            do {
                let frame = try self.decoder.single(from: message.unmaskedData)
                context.fireChannelRead(Self.wrapInboundOut(frame))
            } catch {
                context.fireErrorCaught(error)
            }
        case .text:
            context.fireErrorCaught(ProtocolError(.badFrame, "a text WebSocket message is not a frame"))
        case .ping:
            let pong = WebSocketFrame(fin: true, opcode: .pong, maskKey: .random(), data: message.unmaskedData)
            context.writeAndFlush(Self.wrapOutboundOut(pong), promise: nil)
        case .connectionClose:
            self.sendClose(context: context)
            context.close(promise: nil)
        default:
            break
        }
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let frame = Self.unwrapOutboundIn(data)
        var buffer = context.channel.allocator.buffer(capacity: Frame.headerSize + frame.body.readableBytes)
        buffer.writeFrame(frame)
        let message = WebSocketFrame(fin: true, opcode: .binary, maskKey: .random(), data: buffer)
        context.write(Self.wrapOutboundOut(message), promise: promise)
    }

    func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        // Say goodbye in WebSocket terms before the TCP connection goes.
        if mode == .all {
            self.sendClose(context: context)
        }
        context.close(mode: mode, promise: promise)
    }

    private func sendClose(context: ChannelHandlerContext) {
        guard !self.closeSent, context.channel.isActive else { return }
        self.closeSent = true
        var data = context.channel.allocator.buffer(capacity: 2)
        data.write(webSocketErrorCode: .normalClosure)
        let close = WebSocketFrame(fin: true, opcode: .connectionClose, maskKey: .random(), data: data)
        context.writeAndFlush(Self.wrapOutboundOut(close), promise: nil)
    }
}
