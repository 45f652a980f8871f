import HeraldRESP
import Logging
import NIOCore

/// The production transport of ``RedisClusterClient``: one ``RedisClient`` pool per node,
/// made when the node is first used.
actor RedisClusterNodePool: RedisClusterTransport {
    private let configuration: RedisConfiguration
    private let eventLoopGroup: any EventLoopGroup
    private let logger: Logger
    private var clients: [RedisClusterNode: RedisClient] = [:]
    private var isClosed = false

    init(configuration: RedisConfiguration, eventLoopGroup: any EventLoopGroup, logger: Logger) {
        self.configuration = configuration
        self.eventLoopGroup = eventLoopGroup
        self.logger = logger
    }

    func pipeline(_ commands: [RESPCommand], asking: Bool, on node: RedisClusterNode) async throws -> [Result<RESPToken, RedisClientError>] {
        let client = try self.client(for: node)
        guard asking else { return try await client.pipeline(commands) }
        // ASKING holds for the next command on its connection only: one pipeline keeps each pair together.
        let results = try await client.pipeline(commands.flatMap { [RESPCommand("ASKING"), $0] })
        return stride(from: 1, to: results.count, by: 2).map { results[$0] }
    }

    func close() async {
        self.isClosed = true
        let clients = self.clients
        self.clients = [:]
        for client in clients.values {
            await client.close()
        }
    }

    private func client(for node: RedisClusterNode) throws(RedisClientError) -> RedisClient {
        guard !self.isClosed else { throw RedisClientError(.clientClosed) }
        if let client = self.clients[node] { return client }
        var configuration = self.configuration
        configuration.host = node.host
        configuration.port = node.port
        configuration.database = 0
        let client = RedisClient(configuration: configuration, eventLoopGroup: self.eventLoopGroup, logger: self.logger)
        self.clients[node] = client
        return client
    }
}
