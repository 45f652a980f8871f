import HeraldRESP
import HeraldTLS
import Logging
import NIOCore
import NIOPosix
import NIOSSL

/// One connection to a Redis server, ready to use: commands are pipelined, their replies
/// matched to them in order.
///
/// Any number of tasks may send on one connection at once. A command that gets no reply
/// within the configured timeout fails, and closes the connection (a late reply could no
/// longer be matched to its command); so does a malformed reply.
public final class RedisConnection: Sendable {
    private let channel: any Channel

    /// The protocol version agreed in the handshake: RESP3, or RESP2 from a server without `HELLO 3`.
    public let version: RESPVersion

    private init(channel: any Channel, version: RESPVersion) {
        self.channel = channel
        self.version = version
    }

    /// Connects to the server, logs in and selects the database.
    ///
    /// - Parameters:
    ///   - onPush: called on the connection's event loop with every push (pub/sub messages
    ///     and the confirmations of subscriptions).
    /// - Throws: ``RedisClientError``: `connectFailed`, `authenticationFailed`, `handshakeFailed`, `timeout`.
    public static func connect(
        configuration: RedisConfiguration,
        eventLoop: any EventLoop = MultiThreadedEventLoopGroup.singleton.any(),
        logger: Logger = Logger(label: "herald.redis"),
        onPush: (@Sendable (RESPToken) -> Void)? = nil
    ) async throws -> RedisConnection {
        let tls = try configuration.tls?.makeContext()
        let serverName = TLSServerName.forHost(configuration.host)
        let address = "\(configuration.host):\(configuration.port)"
        let handshake = eventLoop.makePromise(of: RESPVersion.self)
        let limits = configuration.limits
        let bootstrap = ClientBootstrap(group: eventLoop)
            .connectTimeout(configuration.connectTimeout)
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let tls {
                        try channel.pipeline.syncOperations.addHandler(
                            NIOSSLClientHandler(context: tls, serverHostname: serverName))
                    }
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(RESPTokenDecoder(limits: limits)))
                    try channel.pipeline.syncOperations.addHandler(
                        RedisChannelHandler(
                            configuration: configuration, handshakePromise: handshake, onPush: onPush, logger: logger,
                            describeTLSFailure: { Self.describeTLSFailure($0, address: address) })
                    )
                }
            }
        let channel: any Channel
        do {
            channel = try await bootstrap.connect(host: configuration.host, port: configuration.port).get()
        } catch {
            let failure = RedisClientError(
                .connectFailed,
                message: "\(configuration.host):\(configuration.port) could not be reached (\(error))"
            )
            handshake.fail(failure)
            throw failure
        }
        do {
            let version = try await handshake.futureResult.get()
            logger.debug("Connected to Redis.", metadata: ["address": "\(configuration.host):\(configuration.port)", "resp": "\(version.rawValue)"])
            return RedisConnection(channel: channel, version: version)
        } catch {
            try? await channel.close()
            throw error
        }
    }

    /// A sentence for an error of the TLS handler, nil for any other error.
    private static func describeTLSFailure(_ error: any Error, address: String) -> String? {
        guard error is NIOSSLError || error is NIOSSLExtraError || error is BoringSSLError else { return nil }
        return TLSHandshakeFailure(host: address, error: error).description
    }

    /// Sends one command and returns its reply.
    ///
    /// - Throws: ``RedisClientError``: `commandError` when Redis answers with an error,
    ///   `timeout`, `connectionClosed`.
    public func send(_ command: RESPCommand) async throws -> RESPToken {
        let results = try await self.pipeline([command])
        guard let result = results.first else { throw RedisClientError(.unexpectedReply) }
        return try result.get()
    }

    /// Sends the commands in one write and returns each one's reply, or its error, in order.
    ///
    /// An error reply fails only its own command.
    /// - Throws: ``RedisClientError`` when the commands could not be sent at all (the connection is closed).
    public func pipeline(_ commands: [RESPCommand]) async throws -> [Result<RESPToken, RedisClientError>] {
        try await self.write(commands.map { ($0, .reply) })
    }

    /// Sends a subscription command, answered by `count` confirmations (one per channel).
    func subscription(_ command: RESPCommand, confirmation: String, count: Int) async throws -> RESPToken {
        let results = try await self.write([(command, .subscription(confirmation: confirmation, count: max(count, 1)))])
        guard let result = results.first else { throw RedisClientError(.unexpectedReply) }
        return try result.get()
    }

    private func write(
        _ commands: [(RESPCommand, RedisConnectionStateMachine<EventLoopPromise<RESPToken>>.ReplyKind)]
    ) async throws -> [Result<RESPToken, RedisClientError>] {
        guard !commands.isEmpty else { return [] }
        let eventLoop = self.channel.eventLoop
        let request = RedisRequest(entries: commands.map { .init(command: $0.0, kind: $0.1, promise: eventLoop.makePromise()) })
        do {
            try await self.channel.writeAndFlush(request).get()
        } catch {
            let failure = (error as? RedisClientError) ?? RedisClientError(.connectionClosed)
            request.fail(failure)
            throw failure
        }
        var results: [Result<RESPToken, RedisClientError>] = []
        results.reserveCapacity(request.entries.count)
        for entry in request.entries {
            do {
                results.append(.success(try await entry.promise.futureResult.get()))
            } catch let error as RedisClientError {
                results.append(.failure(error))
            } catch {
                results.append(.failure(RedisClientError(.connectionClosed, message: "\(error)")))
            }
        }
        return results
    }

    /// Whether the connection can still carry commands.
    public var isActive: Bool {
        self.channel.isActive
    }

    /// Completes when the connection has closed, whoever closed it.
    public var closeFuture: EventLoopFuture<Void> {
        self.channel.closeFuture
    }

    /// Closes the connection once the commands already sent have their replies.
    public func close() async {
        try? await self.channel.close()
    }
}
