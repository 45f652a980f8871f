import HeraldWire
import NIOCore
import NIOWebSocket

/// Turns WebSocket messages from the server into events for a ``RawInbox``: each binary
/// message must hold exactly one frame.
final class RawWebSocketFrameHandler: ChannelInboundHandler {
    typealias InboundIn = WebSocketFrame
    typealias OutboundOut = WebSocketFrame

    private let inbox: RawInbox
    private let decoder = FrameDecoder(maximumLength: 64 << 20)
    private var sentClose = false

    init(inbox: RawInbox) {
        self.inbox = inbox
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = Self.unwrapInboundIn(data)
        switch frame.opcode {
        case .binary:
            do {
                self.inbox.deliver(.frame(try self.decoder.single(from: frame.unmaskedData)))
            } catch {
                self.inbox.deliver(.malformed(error))
            }
        case .text:
            self.inbox.deliver(.text(String(buffer: frame.unmaskedData)))
        case .ping:
            let pong = WebSocketFrame(fin: true, opcode: .pong, maskKey: .random(), data: frame.unmaskedData)
            context.writeAndFlush(Self.wrapOutboundOut(pong), promise: nil)
        case .connectionClose:
            // Answer the close as RFC 6455 asks, then drop the connection.
            if !self.sentClose {
                self.sentClose = true
                let close = WebSocketFrame(fin: true, opcode: .connectionClose, maskKey: .random(), data: frame.unmaskedData)
                let channel = context.channel
                context.writeAndFlush(Self.wrapOutboundOut(close)).whenComplete { _ in
                    channel.close(promise: nil)
                }
            }
            self.inbox.deliver(.closed)
        default:
            break
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.inbox.deliver(.closed)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
