import HeraldRESP
import HeraldRedis

/// What the cluster state needs of Redis: pipelines of commands that name their slot. A
/// single server ignores the slots; a Redis Cluster sends each command to its shard. Each
/// implementation of the ports is written once against this.
protocol RedisCommandExecutor: Sendable {
    /// Each command's reply or error, in order.
    func execute(_ commands: [RedisClusterCommand]) async throws -> [Result<RESPToken, RedisClientError>]
}

extension RedisClient: RedisCommandExecutor {
    func execute(_ commands: [RedisClusterCommand]) async throws -> [Result<RESPToken, RedisClientError>] {
        guard !commands.isEmpty else { return [] }
        return try await self.pipeline(commands.map(\.command))
    }
}

extension RedisClusterClient: RedisCommandExecutor {
    func execute(_ commands: [RedisClusterCommand]) async throws -> [Result<RESPToken, RedisClientError>] {
        try await self.pipeline(commands)
    }
}

extension RedisCommandExecutor {
    /// Runs `operations` as one pipeline (per shard on a cluster). Scripts go by `EVALSHA`;
    /// those the server does not know (a fresh or restarted server, another shard) are sent
    /// again as `EVAL`, which also loads them.
    func run(_ operations: [RedisOperation]) async throws -> [Result<RESPToken, RedisClientError>] {
        var results = try await self.execute(operations.map { $0.command(loaded: true) })
        let missing = operations.indices.filter { index in
            guard case .script = operations[index], case .failure(let error) = results[index] else { return false }
            return error.code == .commandError && (error.message ?? "").hasPrefix("NOSCRIPT")
        }
        guard !missing.isEmpty else { return results }
        let retried = try await self.execute(missing.map { operations[$0].command(loaded: false) })
        for (index, result) in zip(missing, retried) { results[index] = result }
        return results
    }

    /// Runs one operation and returns its reply, throwing its error.
    func run(_ operation: RedisOperation) async throws -> RESPToken {
        guard let result = try await self.run([operation]).first else { throw RedisClientError(.unexpectedReply) }
        return try result.get()
    }
}
