import NIOCore
import NIOHTTP1
import NIOWebSocket

/// The WebSocket upgrade of the gateway: NIOWebSocket checks the request and builds the
/// handshake's answer, and the upgraded pipeline is ours: one ``WebSocketFrameCodec`` in
/// front of the connection's handler, instead of the four handlers NIOWebSocket would add.
final class WebSocketUpgrader: HTTPServerProtocolUpgrader, Sendable {
    private let handshake: NIOWebSocketServerUpgrader
    private let upgraded: @Sendable (any Channel) throws -> Void

    let supportedProtocol: String
    let requiredUpgradeHeaders: [String]

    /// - Parameters:
    ///   - path: The only request path that upgrades (a query string is ignored).
    ///   - maxMessageSize: The largest message once authenticated.
    ///   - maxMessageSizeBeforeAuth: The codec's limit until the connection raises it at its
    ///     first AUTH_OK (``WebSocketFrameCodec/raiseMessageLimit(to:)``).
    ///   - upgraded: Adds the handlers behind the codec; runs on the channel's loop.
    init(
        path: String,
        maxMessageSize: Int,
        maxMessageSizeBeforeAuth: Int? = nil,
        upgraded: @escaping @Sendable (any Channel) throws -> Void
    ) {
        let initialMessageSize = min(maxMessageSizeBeforeAuth ?? maxMessageSize, maxMessageSize)
        self.handshake = NIOWebSocketServerUpgrader(
            maxFrameSize: maxMessageSize,
            shouldUpgrade: { channel, head in
                let requested = head.uri.split(separator: "?", maxSplits: 1).first.map(String.init) ?? ""
                return channel.eventLoop.makeSucceededFuture(requested == path ? HTTPHeaders() : nil)
            },
            // Never called: `upgrade(context:upgradeRequest:)` below builds the pipeline.
            upgradePipelineHandler: { channel, _ in channel.eventLoop.makeSucceededVoidFuture() }
        )
        self.supportedProtocol = self.handshake.supportedProtocol
        self.requiredUpgradeHeaders = self.handshake.requiredUpgradeHeaders
        self.upgraded = { channel in
            try channel.pipeline.syncOperations.addHandler(WebSocketFrameCodec(maxMessageSize: initialMessageSize))
            try upgraded(channel)
        }
    }

    func buildUpgradeResponse(
        channel: any Channel,
        upgradeRequest: HTTPRequestHead,
        initialResponseHeaders: HTTPHeaders
    ) -> EventLoopFuture<HTTPHeaders> {
        self.handshake.buildUpgradeResponse(
            channel: channel,
            upgradeRequest: upgradeRequest,
            initialResponseHeaders: initialResponseHeaders
        )
    }

    func upgrade(context: ChannelHandlerContext, upgradeRequest: HTTPRequestHead) -> EventLoopFuture<Void> {
        let channel = context.channel
        return context.eventLoop.makeCompletedFuture { try self.upgraded(channel) }
    }
}
