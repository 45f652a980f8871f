import HeraldTLS
import NIOCore
import NIOSSL
import NIOTLS

/// Sits right behind the TLS handler until the handshake is done: it holds `channelActive`
/// back until then, so that nothing is sent (AUTH, the WebSocket upgrade) before the server
/// is verified, and reports a failed handshake to the ``ClientDriver`` as a connect failure
/// that says why.
final class TLSHandshakeHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer

    private let driver: ClientDriver
    private let host: String
    private var active = false

    init(driver: ClientDriver, host: String) {
        self.driver = driver
        self.host = host
    }

    func channelActive(context: ChannelHandlerContext) {
        self.active = true
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard case .handshakeCompleted = event as? TLSUserEvent else {
            context.fireUserInboundEventTriggered(event)
            return
        }
        if self.active {
            context.fireChannelActive()
        }
        context.fireUserInboundEventTriggered(event)
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        self.driver.connectFailed(TLSHandshakeFailure(host: self.host, error: error))
        context.close(promise: nil)
    }
}
