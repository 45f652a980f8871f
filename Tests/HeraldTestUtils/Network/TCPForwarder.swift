import NIOCore
import NIOPosix

/// Passes TCP connections made to an address of the test's own on to another: the PostgreSQL
/// of scripts/test listens on loopback only, which processes in other network namespaces
/// cannot reach.
public final class TCPForwarder: Sendable {
    /// The port it listens on (the kernel picked it).
    public let port: Int
    private let channel: any Channel

    private init(port: Int, channel: any Channel) {
        self.port = port
        self.channel = channel
    }

    deinit {
        self.channel.close(promise: nil)
    }

    /// Listens on `host` (any free port) and connects each client to `targetHost:targetPort`.
    public static func start(listeningOn host: String, to targetHost: String, port targetPort: Int) async throws
        -> TCPForwarder
    {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { inbound in
                // The client's bytes are read only once the target is connected and both ends forward.
                ClientBootstrap(group: inbound.eventLoop)
                    .connect(host: targetHost, port: targetPort)
                    .flatMapThrowing { outbound in
                        try inbound.pipeline.syncOperations.addHandler(ForwardingHandler(peer: outbound))
                        try outbound.pipeline.syncOperations.addHandler(ForwardingHandler(peer: inbound))
                    }
            }
            .bind(host: host, port: 0)
            .get()
        guard let port = channel.localAddress?.port else {
            channel.close(promise: nil)
            throw ForwarderError(description: "the forwarder on \(host) has no port")
        }
        return TCPForwarder(port: port, channel: channel)
    }

    /// Stops listening; connections already made end when either side closes.
    public func close() {
        self.channel.close(promise: nil)
    }

    private struct ForwarderError: Error, CustomStringConvertible {
        var description: String
    }

    /// Writes what one side reads to the other, and closes the other when one ends.
    private final class ForwardingHandler: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer

        private let peer: any Channel

        init(peer: any Channel) {
            self.peer = peer
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            self.peer.writeAndFlush(Self.unwrapInboundIn(data), promise: nil)
        }

        func channelInactive(context: ChannelHandlerContext) {
            self.peer.close(promise: nil)
            context.fireChannelInactive()
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            context.close(promise: nil)
        }
    }
}
