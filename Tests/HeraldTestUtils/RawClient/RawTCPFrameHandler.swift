import HeraldWire
import NIOCore

/// Splits the TCP byte stream from the server into frames for a ``RawInbox``.
final class RawTCPFrameHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    private let inbox: RawInbox
    /// The client accepts any size the server sends: limits are the server's business.
    private let decoder = FrameDecoder(maximumLength: 64 << 20)
    private var buffer = ByteBuffer()
    private var failed = false

    init(inbox: RawInbox) {
        self.inbox = inbox
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !self.failed else { return }
        var bytes = Self.unwrapInboundIn(data)
        self.buffer.writeBuffer(&bytes)
        do {
            while let frame = try self.decoder.next(from: &self.buffer) {
                self.inbox.deliver(.frame(frame))
            }
            self.buffer.discardReadBytes()
        } catch {
            self.failed = true
            self.inbox.deliver(.malformed(error))
            context.close(promise: nil)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.inbox.deliver(.closed)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // A reset is how some servers close; the test sees it as a close.
        context.close(promise: nil)
    }
}
