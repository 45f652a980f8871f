import NIOCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Performs the client side of the WebSocket opening handshake by hand, then passes every
/// later byte on to the WebSocket frame decoder.
///
/// NIO's client upgrader removes the HTTP handlers and adds the WebSocket ones
/// asynchronously; a server that writes a frame and closes right after its `101` (as
/// `server_busy` does) can lose that frame and the close in between. Here the WebSocket
/// handlers are in the pipeline from the start, so nothing can fall through.
final class RawWebSocketHandshakeHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private static let headTerminator: [UInt8] = Array("\r\n\r\n".utf8)
    /// A response head longer than this is not a WebSocket handshake answer.
    private static let maximumHeadLength = 16_384

    private enum State {
        case awaitingHead(ByteBuffer)
        case upgraded
        case refused
    }

    private let host: String
    private let port: Int
    private let path: String
    private let upgraded: EventLoopPromise<Bool>
    private var state = State.awaitingHead(ByteBuffer())

    init(host: String, port: Int, path: String, upgraded: EventLoopPromise<Bool>) {
        self.host = host
        self.port = port
        self.path = path
        self.upgraded = upgraded
    }

    func channelActive(context: ChannelHandlerContext) {
        var key: [UInt8] = []
        for _ in 0..<16 { key.append(UInt8.random(in: 0...255)) }
        let request =
            "GET \(self.path) HTTP/1.1\r\n"
            + "Host: \(self.host):\(self.port)\r\n"
            + "Upgrade: websocket\r\n"
            + "Connection: Upgrade\r\n"
            + "Sec-WebSocket-Key: \(Data(key).base64EncodedString())\r\n"
            + "Sec-WebSocket-Version: 13\r\n"
            + "Content-Length: 0\r\n\r\n"
        context.writeAndFlush(Self.wrapOutboundOut(ByteBuffer(string: request)), promise: nil)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch self.state {
        case .upgraded:
            context.fireChannelRead(data)
        case .refused:
            break
        case .awaitingHead(var buffer):
            var bytes = Self.unwrapInboundIn(data)
            buffer.writeBuffer(&bytes)
            let view = buffer.readableBytesView
            guard let end = view.firstRange(of: Self.headTerminator)?.upperBound else {
                if buffer.readableBytes > Self.maximumHeadLength {
                    self.refuse(context: context)
                } else {
                    self.state = .awaitingHead(buffer)
                }
                return
            }
            let headLength = end - view.startIndex
            let head = buffer.readString(length: headLength) ?? ""
            // "HTTP/1.1 101 Switching Protocols"
            let status = head.split(separator: " ", maxSplits: 2).dropFirst().first
            guard status == "101" else {
                self.refuse(context: context)
                return
            }
            self.state = .upgraded
            self.upgraded.succeed(true)
            if buffer.readableBytes > 0 {
                context.fireChannelRead(Self.wrapInboundOut(buffer))
            }
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        if case .awaitingHead = self.state {
            self.state = .refused
            self.upgraded.succeed(false)
        }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if case .awaitingHead = self.state {
            self.state = .refused
            self.upgraded.fail(error)
        }
        context.fireErrorCaught(error)
    }

    private func refuse(context: ChannelHandlerContext) {
        self.state = .refused
        self.upgraded.succeed(false)
        context.close(promise: nil)
    }
}
