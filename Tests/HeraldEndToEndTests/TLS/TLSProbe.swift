import NIOCore
import NIOPosix
import NIOSSL
import NIOTLS

/// TLS connections to a server made by hand, to see what it serves and what it refuses.
enum TLSProbe {
    /// Shakes hands with `host:port`, trusting only `caFile`, and returns the server's leaf
    /// certificate; throws what the handshake failed with.
    static func handshake(
        host: String = "127.0.0.1",
        port: Int,
        trusting caFile: String,
        maximumVersion: TLSVersion? = nil
    ) async throws -> NIOSSLCertificate {
        let (channel, _) = try await Self.connect(host: host, port: port, trusting: caFile, maximumVersion: maximumVersion)
        defer { channel.close(promise: nil) }
        guard let certificate = try await channel.nioSSL_peerCertificate().get() else {
            throw ProbeError.noCertificate
        }
        return certificate
    }

    /// Sends `GET path` over HTTPS with `Connection: close` and returns the whole response as text.
    static func get(_ path: String, bearer: String, port: Int, trusting caFile: String) async throws -> String {
        let (channel, received) = try await Self.connect(host: "127.0.0.1", port: port, trusting: caFile)
        let request = "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(bearer)\r\nConnection: close\r\n\r\n"
        try await channel.writeAndFlush(ByteBuffer(string: request))
        return try await received.get()
    }

    /// A connection whose handshake is done, and the future of everything it receives until it closes.
    private static func connect(
        host: String,
        port: Int,
        trusting caFile: String,
        maximumVersion: TLSVersion? = nil
    ) async throws -> (any Channel, EventLoopFuture<String>) {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(caFile))
        if let maximumVersion {
            configuration.minimumTLSVersion = .tlsv1
            configuration.maximumTLSVersion = maximumVersion
        }
        let context = try NIOSSLContext(configuration: configuration)
        let loop = MultiThreadedEventLoopGroup.singleton.any()
        let handshake = loop.makePromise(of: Void.self)
        let received = loop.makePromise(of: String.self)
        let channel = try await ClientBootstrap(group: loop)
            .connectTimeout(.seconds(10))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandlers(
                        NIOSSLClientHandler(context: context, serverHostname: host == "localhost" ? host : nil),
                        Recorder(handshake: handshake, received: received)
                    )
                }
            }
            .connect(host: host, port: port)
            .get()
        do {
            try await handshake.futureResult.get()
        } catch {
            channel.close(promise: nil)
            throw error
        }
        return (channel, received.futureResult)
    }

    enum ProbeError: Error {
        case noCertificate
        case closedBeforeHandshake
    }

    /// Completes `handshake` when the handshake ends, either way, and `received` with the
    /// bytes read once the connection closes.
    private final class Recorder: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        let handshake: EventLoopPromise<Void>
        let received: EventLoopPromise<String>
        var text = ""

        init(handshake: EventLoopPromise<Void>, received: EventLoopPromise<String>) {
            self.handshake = handshake
            self.received = received
        }

        func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
            if case .handshakeCompleted = event as? TLSUserEvent { self.handshake.succeed() }
            context.fireUserInboundEventTriggered(event)
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            self.text += String(buffer: Self.unwrapInboundIn(data))
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            self.handshake.fail(error)
            context.close(promise: nil)
        }

        func channelInactive(context: ChannelHandlerContext) {
            self.handshake.fail(ProbeError.closedBeforeHandshake)
            self.received.succeed(self.text)
            context.fireChannelInactive()
        }
    }
}
