import NIOCore
import NIOHTTP1

/// Guards one API connection where Hummingbird's server has no setting: the first request
/// head must be complete within the head deadline, a head over the decoder's size or field
/// limits is answered 431 (Hummingbird would answer a bare 400), and a connection over the
/// cap is answered 503. Each answer is the API's JSON error shape, and the connection closes.
///
/// It sits right after the HTTP/1 decoder, so it sees the decoder's errors first. Later heads
/// on a kept-alive connection are bounded by the idle timeout instead, which Hummingbird
/// applies to any stretch without a request part, a stalled head included.
final class APIConnectionGuard: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    enum Role {
        /// An admitted connection, with the time its first request head has.
        case serve(headTimeout: TimeAmount)
        /// A connection over the cap: it gets 503 and nothing else.
        case refuse
    }

    private let role: Role
    private var started = false
    private var awaitingFirstHead = true
    /// Set once this handler answered; the connection is closing and its input is ignored.
    private var answered = false
    private var headDeadline: Scheduled<Void>?

    init(role: Role) {
        self.role = role
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { self.start(context: context) }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.cancelHeadDeadline()
    }

    func channelActive(context: ChannelHandlerContext) {
        self.start(context: context)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.cancelHeadDeadline()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !self.answered else { return }
        if self.awaitingFirstHead, case .head = self.unwrapInboundIn(data) {
            self.awaitingFirstHead = false
            self.cancelHeadDeadline()
        }
        context.fireChannelRead(data)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard let parserError = error as? HTTPParserError, parserError == .headerOverflow else {
            context.fireErrorCaught(error)
            return
        }
        self.answer(
            context: context,
            status: .requestHeaderFieldsTooLarge,
            code: "headers_too_large",
            message: "the request head has too many or too large header fields"
        )
    }

    private func start(context: ChannelHandlerContext) {
        guard !self.started else { return }
        self.started = true
        switch self.role {
        case .refuse:
            self.answer(
                context: context,
                status: .serviceUnavailable,
                code: "too_many_connections",
                message: "the API has too many open connections; try again later"
            )
        case .serve(let headTimeout):
            self.headDeadline = context.eventLoop.assumeIsolated().scheduleTask(in: headTimeout) {
                // A client that never finishes its head holds a descriptor; let it go.
                if self.awaitingFirstHead { context.close(promise: nil) }
            }
        }
    }

    private func cancelHeadDeadline() {
        self.headDeadline?.cancel()
        self.headDeadline = nil
    }

    /// Writes an error answer and closes the connection once it is written.
    private func answer(context: ChannelHandlerContext, status: HTTPResponseStatus, code: String, message: String) {
        guard !self.answered else { return }
        self.answered = true
        self.cancelHeadDeadline()
        // The shape JSONResponse encodes (sorted keys); code and message need no escaping.
        let body = context.channel.allocator.buffer(string: #"{"error":{"code":"\#(code)","message":"\#(message)"}}"#)
        let headers = HTTPHeaders([
            ("content-type", "application/json; charset=utf-8"),
            ("content-length", String(body.readableBytes)),
            ("connection", "close"),
        ])
        context.write(self.wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))), promise: nil)
        context.write(self.wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
        context.writeAndFlush(self.wrapOutboundOut(.end(nil))).assumeIsolated().whenComplete { _ in
            context.close(promise: nil)
        }
    }
}
