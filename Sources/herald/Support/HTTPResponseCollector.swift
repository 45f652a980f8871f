import NIOCore
import NIOHTTP1

/// Gathers one HTTP response, head and body, and completes `promise` with it when it ends.
final class HTTPResponseCollector: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPClientResponsePart

    /// A whole response.
    struct Response {
        var status: Int
        var body: ByteBuffer
    }

    private let promise: EventLoopPromise<Response>
    private let describe: @Sendable (any Error) -> any Error
    private var status = 0
    private var body = ByteBuffer()
    private var done = false

    /// `describe` turns an error of the connection (a failed TLS handshake, say) into the one reported.
    init(promise: EventLoopPromise<Response>, describe: @escaping @Sendable (any Error) -> any Error) {
        self.promise = promise
        self.describe = describe
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch Self.unwrapInboundIn(data) {
        case .head(let head):
            self.status = Int(head.status.code)
        case .body(var part):
            self.body.writeBuffer(&part)
        case .end:
            self.finish(.success(Response(status: self.status, body: self.body)))
            context.close(promise: nil)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        self.finish(.failure(self.describe(error)))
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.finish(.failure(ClosedEarly()))
        context.fireChannelInactive()
    }

    private func finish(_ result: Result<Response, any Error>) {
        guard !self.done else { return }
        self.done = true
        self.promise.completeWith(result)
    }

    /// The server closed the connection before its response was complete.
    struct ClosedEarly: Error, CustomStringConvertible {
        var description: String { "the server closed the connection before answering" }
    }
}
