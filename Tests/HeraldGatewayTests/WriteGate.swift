import NIOCore

/// An outbound handler that keeps every write, promise and all, until the test lets it
/// through: a socket that takes nothing until the test says it drained.
final class WriteGate: ChannelOutboundHandler {
    typealias OutboundIn = ByteBuffer

    private var held: [(data: NIOAny, promise: EventLoopPromise<Void>?)] = []
    private var context: ChannelHandlerContext?

    /// Writes waiting at the gate.
    var heldCount: Int { self.held.count }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        self.held.append((data, promise))
    }

    func flush(context: ChannelHandlerContext) {
        // Nothing goes out until release().
    }

    /// Lets what waits through and flushes it; the writes' promises complete, which may make
    /// the handler behind write more (kept for the next release).
    func release() {
        guard let context else { return }
        let held = self.held
        self.held.removeAll()
        for (data, promise) in held {
            context.write(data, promise: promise)
        }
        context.flush()
    }
}
