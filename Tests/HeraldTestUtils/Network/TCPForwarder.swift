import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// A tiny TCP forwarder of the test's own in front of one server: to reach a server that
/// listens on loopback from another network namespace (the PostgreSQL of scripts/test), or to
/// cut one node off from Redis without touching the others: ``cut()`` closes every forwarded
/// connection and refuses new ones (each is closed as soon as it is accepted) until
/// ``restore()``.
public final class TCPForwarder: Sendable {
    private struct State {
        var isOpen = true
        var channels: [ObjectIdentifier: any Channel] = [:]
    }

    private let state = NIOLockedValueBox(State())
    private let listener: any Channel

    /// The port it listens on (the kernel picked it).
    public let port: Int

    private init(listener: any Channel, port: Int) {
        self.listener = listener
        self.port = port
    }

    deinit {
        self.listener.close(promise: nil)
    }

    /// Listens on a free port of `host` and forwards each connection to `targetHost:port`.
    public static func start(
        listeningOn host: String = "127.0.0.1", to targetHost: String = "127.0.0.1", port targetPort: Int
    ) async throws -> TCPForwarder {
        let box = NIOLockedValueBox<TCPForwarder?>(nil)
        let listener = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.autoRead, value: false)
            .childChannelInitializer { inbound in
                guard let forwarder = box.withLockedValue({ $0 }) else { return inbound.close() }
                return forwarder.connect(inbound, to: targetHost, port: targetPort)
            }
            .bind(host: host, port: 0)
            .get()
        guard let port = listener.localAddress?.port else {
            listener.close(promise: nil)
            throw ForwarderError(description: "the forwarder on \(host) has no port")
        }
        let forwarder = TCPForwarder(listener: listener, port: port)
        box.withLockedValue { $0 = forwarder }
        return forwarder
    }

    /// Closes every forwarded connection and refuses new ones.
    public func cut() async {
        let channels = self.state.withLockedValue { state in
            state.isOpen = false
            defer { state.channels = [:] }
            return Array(state.channels.values)
        }
        for channel in channels { try? await channel.close() }
    }

    /// Forwards new connections again.
    public func restore() {
        self.state.withLockedValue { $0.isOpen = true }
    }

    /// Stops listening and closes every connection.
    public func stop() async {
        await self.cut()
        try? await self.listener.close()
    }

    /// Stops listening; connections already made end when either side closes.
    public func close() {
        self.listener.close(promise: nil)
    }

    private func connect(_ inbound: any Channel, to host: String, port: Int) -> EventLoopFuture<Void> {
        guard self.state.withLockedValue({ $0.isOpen }) else { return inbound.close() }
        return ClientBootstrap(group: inbound.eventLoop)
            .connect(host: host, port: port)
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

    private struct ForwarderError: Error, CustomStringConvertible {
        var description: String
    }

    /// Writes what one side reads to the other, and closes the other when one side closes.
    private final class Relay: ChannelInboundHandler {
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
