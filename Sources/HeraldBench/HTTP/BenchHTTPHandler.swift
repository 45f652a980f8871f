import NIOCore

/// The channel handler of one API connection: parses responses and hands each to its
/// ``BenchHTTPConnection``.
final class BenchHTTPHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let connection: BenchHTTPConnection
    private var parser = HTTPResponseParser()
    private var pending: ByteBuffer?

    init(connection: BenchHTTPConnection) {
        self.connection = connection
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var incoming = Self.unwrapInboundIn(data)
        var buffer: ByteBuffer
        if var pending = self.pending {
            self.pending = nil
            pending.writeBuffer(&incoming)
            buffer = pending
        } else {
            buffer = incoming
        }
        do {
            while let response = try self.parser.next(from: &buffer) {
                self.connection.responseReceived(status: response.status, body: response.body)
                if response.close {
                    context.close(promise: nil)
                    return
                }
            }
        } catch {
            context.close(promise: nil)
            return
        }
        if buffer.readableBytes > 0 {
            var rest = context.channel.allocator.buffer(capacity: buffer.readableBytes)
            rest.writeBuffer(&buffer)
            self.pending = rest
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.pending = nil
        self.connection.channelClosed(context.channel)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
