import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// A tiny TCP forwarder on loopback in front of one server, to cut one node off from Redis
/// without touching the others: ``cut()`` closes every forwarded connection and refuses new
/// ones (each is closed as soon as it is accepted) until ``restore()``.
final class TCPForwarder: Sendable {
    private struct State {
        var isOpen = true
        var channels: [ObjectIdentifier: any Channel] = [:]
    }

    private let state = NIOLockedValueBox(State())
    private let listener: any Channel

    /// The port the forwarder listens on.
    var port: Int { self.listener.localAddress?.port ?? 0 }

    private init(listener: any Channel) {
        self.listener = listener
    }

    /// Starts forwarding connections on a free loopback port to `port` on loopback.
    static func start(to port: Int) async throws -> TCPForwarder {
        let box = NIOLockedValueBox<TCPForwarder?>(nil)
        let listener = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.autoRead, value: false)
            .childChannelInitializer { inbound in
                guard let forwarder = box.withLockedValue({ $0 }) else { return inbound.close() }
                return forwarder.connect(inbound, to: port)
            }
            .bind(host: "127.0.0.1", port: 0)
            .get()
        let forwarder = TCPForwarder(listener: listener)
        box.withLockedValue { $0 = forwarder }
        return forwarder
    }

    /// Closes every forwarded connection and refuses new ones.
    func cut() async {
        let channels = self.state.withLockedValue { state in
            state.isOpen = false
            defer { state.channels = [:] }
            return Array(state.channels.values)
        }
        for channel in channels { try? await channel.close() }
    }

    /// Forwards new connections again.
    func restore() {
        self.state.withLockedValue { $0.isOpen = true }
    }

    /// Stops listening and closes every connection.
    func stop() async {
        await self.cut()
        try? await self.listener.close()
    }

    private func connect(_ inbound: any Channel, to port: Int) -> EventLoopFuture<Void> {
        guard self.state.withLockedValue({ $0.isOpen }) else { return inbound.close() }
        return ClientBootstrap(group: inbound.eventLoop)
            .connect(host: "127.0.0.1", port: port)
            .flatMap { outbound in
                let tracked = self.state.withLockedValue { state in
                    guard state.isOpen else { return false }
                    state.channels[ObjectIdentifier(inbound)] = inbound
                    state.channels[ObjectIdentifier(outbound)] = outbound
                    return true
                }
                guard tracked else {
                    outbound.close(promise: nil)
                    return inbound.close()
                }
                for channel in [inbound, outbound] {
                    channel.closeFuture.whenComplete { _ in
                        _ = self.state.withLockedValue { $0.channels.removeValue(forKey: ObjectIdentifier(channel)) }
                    }
                }
                do {
                    try inbound.pipeline.syncOperations.addHandler(Relay(peer: outbound))
                    try outbound.pipeline.syncOperations.addHandler(Relay(peer: inbound))
                } catch {
                    outbound.close(promise: nil)
                    return inbound.close()
                }
                // The client may have written already: read only once its bytes have somewhere to go.
                return inbound.setOption(.autoRead, value: true)
            }
            .flatMapError { _ in inbound.close() }
    }

    /// Writes what one side reads to the other, and closes the other when one side closes.
    private final class Relay: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer

        private let peer: any Channel

        init(peer: any Channel) {
            self.peer = peer
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            self.peer.writeAndFlush(self.unwrapInboundIn(data), promise: nil)
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
