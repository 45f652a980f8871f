import HeraldRESP

/// How ``RedisClusterClient`` reaches the nodes: connections in production, an in-process
/// fake in the tests of its routing.
protocol RedisClusterTransport: Sendable {
    /// Sends the commands to `node` together and returns each one's reply or error, in order;
    /// with `asking`, each command is preceded by `ASKING` on the same connection.
    ///
    /// - Throws: ``RedisClientError`` when the commands could not be sent at all
    ///   (`connectFailed` when no connection to the node could be made).
    func pipeline(_ commands: [RESPCommand], asking: Bool, on node: RedisClusterNode) async throws -> [Result<RESPToken, RedisClientError>]

    /// Closes every connection.
    func close() async
}
