import HeraldWire
import NIOCore

/// The last handler of a client connection: hands frames and errors to the ``ClientDriver``,
/// which owns the protocol state. It runs on the driver's event loop.
///
/// Over TCP it announces the connection when the channel becomes active. Over WebSocket it is
/// added during the upgrade, and ``HeraldClient`` announces the connection once the HTTP
/// upgrade handler has left the pipeline (a frame written before would hit that handler).
final class HeraldClientChannelHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = Frame
    typealias OutboundOut = Frame

    private let driver: ClientDriver

    init(driver: ClientDriver) {
        self.driver = driver
    }

    func channelActive(context: ChannelHandlerContext) {
        self.driver.connectionReady(context.channel)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        self.driver.frameReceived(Self.unwrapInboundIn(data), on: context.channel)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        self.driver.errorCaught(error, on: context.channel)
        context.close(promise: nil)
    }
}
