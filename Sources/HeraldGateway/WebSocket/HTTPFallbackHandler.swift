import NIOCore
import NIOHTTP1

/// Answers HTTP requests on the WebSocket port that are not an upgrade to the WebSocket
/// path: 426 for the path itself, 404 for anything else. Then it closes the connection.
final class HTTPFallbackHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let webSocketPath: String
    private var status: HTTPResponseStatus = .notFound

    init(webSocketPath: String) {
        self.webSocketPath = webSocketPath
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch Self.unwrapInboundIn(data) {
        case .head(let head):
            let path = head.uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            self.status = path == self.webSocketPath ? .upgradeRequired : .notFound
        case .body:
            break
        case .end:
            self.respond(context: context)
        }
    }

    private func respond(context: ChannelHandlerContext) {
        let text = self.status == .upgradeRequired ? "WebSocket upgrade required\n" : "not found\n"
        var body = context.channel.allocator.buffer(capacity: text.utf8.count)
        body.writeString(text)
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "text/plain; charset=utf-8")
        headers.add(name: "Content-Length", value: "\(body.readableBytes)")
        headers.add(name: "Connection", value: "close")
        if self.status == .upgradeRequired {
            headers.add(name: "Upgrade", value: "websocket")
        }
        let head = HTTPResponseHead(version: .http1_1, status: self.status, headers: headers)
        context.write(Self.wrapOutboundOut(.head(head)), promise: nil)
        context.write(Self.wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
        let channel = context.channel
        context.writeAndFlush(Self.wrapOutboundOut(.end(nil))).whenComplete { _ in
            channel.close(promise: nil)
        }
    }
}
