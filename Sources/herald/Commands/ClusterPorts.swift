import HeraldCluster
import HeraldCommandLine
import HeraldCore
import HeraldRedis
import Logging

/// The cluster's shared state on Redis (one server or a Redis Cluster): the session
/// directory, the node leases and the bus, over one client.
struct ClusterPorts: Sendable {
    var directory: any SessionDirectory
    var registry: any NodeRegistry
    var bus: any MessageBus
    /// Closes the client once the node stopped.
    var close: @Sendable () async -> Void

    /// The ports on the Redis that `url` names, under `namespace`; nothing connects until the first command.
    static func open(url: String, namespace: String, logger: Logger) throws -> ClusterPorts {
        do {
            if url.hasPrefix(RedisClusterConfiguration.scheme) {
                let client = try RedisClusterClient(url: url, logger: logger)
                return ClusterPorts(
                    directory: RedisSessionDirectory(cluster: client, namespace: namespace),
                    registry: RedisNodeRegistry(cluster: client, namespace: namespace),
                    bus: RedisMessageBus(cluster: client, namespace: namespace, logger: logger),
                    close: { await client.close() }
                )
            }
            let configuration = try RedisConfiguration(url: url)
            // A CA file that cannot be read stops the start here, not each connection later.
            _ = try configuration.tls?.makeContext()
            let client = RedisClient(configuration: configuration, logger: logger)
            return ClusterPorts(
                directory: RedisSessionDirectory(client: client, namespace: namespace),
                registry: RedisNodeRegistry(client: client, namespace: namespace),
                bus: RedisMessageBus(client: client, namespace: namespace, logger: logger),
                close: { await client.close() }
            )
        } catch {
            throw CLIError("--redis is not a usable Redis URL: \(error)")
        }
    }
}
