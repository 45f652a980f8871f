import Logging
import NIOCore
import NIOPosix

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Where `herald-bench agent` takes its controllers from: its own stdin and stdout (a local
/// worker spawned by the controller), or a TCP port (an agent on another machine).
public enum BenchAgentServer {
    /// Serves the controller on stdin/stdout until stdin ends, its pools running their clients
    /// on `clientThreads` threads under `clientScheduling`. Nothing else may write to stdout
    /// meanwhile: log to stderr.
    public static func runStandardIO(
        group: any EventLoopGroup,
        clientThreads: Int = System.coreCount,
        clientScheduling: ClientScheduling = .batch,
        logger: Logger
    ) async throws {
        // NIO takes ownership of the descriptors it is given: give it copies.
        let input = dup(STDIN_FILENO)
        let output = dup(STDOUT_FILENO)
        guard input >= 0, output >= 0 else {
            throw IOError(errnoCode: errno, reason: "dup of stdin or stdout")
        }
        let channel = try await NIOPipeBootstrap(group: group)
            .takingOwnershipOfDescriptors(input: input, output: output) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try Self.makeLineChannel(channel)
                }
            }
        try await BenchAgent(clientThreads: clientThreads, clientScheduling: clientScheduling, logger: logger)
            .serve(channel)
    }

    /// Listens on `host:port` and serves every controller that connects, each with its own
    /// ``BenchAgent`` (clients on `clientThreads` threads under `clientScheduling`), until
    /// cancelled. `onBound` gets the
    /// bound address (useful with port 0).
    public static func listen(
        host: String,
        port: Int,
        group: any EventLoopGroup,
        clientThreads: Int = System.coreCount,
        clientScheduling: ClientScheduling = .batch,
        logger: Logger,
        onBound: @Sendable (SocketAddress) -> Void
    ) async throws {
        let server = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .bind(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try Self.makeLineChannel(channel)
                }
            }
        if let address = server.channel.localAddress { onBound(address) }
        try await server.executeThenClose { controllers in
            try await withThrowingDiscardingTaskGroup { connections in
                for try await controller in controllers {
                    connections.addTask {
                        let peer = controller.channel.remoteAddress.map { "\($0)" } ?? "?"
                        logger.info("bench controller connected", metadata: ["controller": "\(peer)"])
                        do {
                            try await BenchAgent(
                                clientThreads: clientThreads,
                                clientScheduling: clientScheduling,
                                logger: logger
                            ).serve(controller)
                        } catch {
                            logger.info(
                                "bench controller left", metadata: ["controller": "\(peer)", "error": "\(error)"])
                        }
                    }
                }
            }
        }
    }

    /// Adds the line decoder and wraps `channel` for async use; call on its event loop.
    static func makeLineChannel(_ channel: any Channel) throws -> NIOAsyncChannel<ByteBuffer, ByteBuffer> {
        try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(JSONLineDecoder()))
        return try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
    }
}
