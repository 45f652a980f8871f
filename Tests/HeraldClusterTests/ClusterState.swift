import HeraldCluster
import HeraldCore
import HeraldRESP
import HeraldRedis
import HeraldTesting
import NIOCore

/// One test's directory, registry and bus of one kind, in a namespace of its own.
struct ClusterState {
    var directory: any SessionDirectory
    var registry: any NodeRegistry
    var bus: any MessageBus
    /// The channel a node's bus messages go on, for a test that publishes by hand.
    var busChannel: @Sendable (String) -> String
    /// Publishes raw bytes on a channel as the bus does (nil for the in-memory bus): `PUBLISH`,
    /// or `SPUBLISH` on a cluster.
    var publishRaw: (@Sendable (String, ByteBuffer) async throws -> Void)?
    /// Sends a command to the single server (nil for the other kinds).
    var serverCommand: (@Sendable (RESPCommand) async throws -> RESPToken)? = nil

    /// Runs `body` with fresh state of `kind` and closes its clients afterwards.
    static func with(_ kind: ClusterStateKind, _ body: (ClusterState) async throws -> Void) async throws {
        let namespace = ClusterTestEnvironment.namespace()
        let channel: @Sendable (String) -> String = { "\(namespace):bus:\($0)" }
        switch kind {
        case .memory:
            try await body(
                ClusterState(
                    directory: InMemorySessionDirectory(), registry: InMemoryNodeRegistry(), bus: InMemoryMessageBus(),
                    busChannel: channel, publishRaw: nil))
        case .redis:
            let client = RedisClient(configuration: try ClusterTestEnvironment.configuration())
            let state = ClusterState(
                directory: RedisSessionDirectory(client: client, namespace: namespace),
                registry: RedisNodeRegistry(client: client, namespace: namespace),
                bus: RedisMessageBus(client: client, namespace: namespace),
                busChannel: channel,
                publishRaw: { _ = try await client.send(RESPCommand("PUBLISH", .string($0), .bytes($1))) },
                serverCommand: { try await client.send($0) })
            do {
                try await body(state)
            } catch {
                await client.close()
                throw error
            }
            await client.close()
        case .redisCluster:
            let cluster = RedisClusterClient(configuration: try ClusterTestEnvironment.clusterConfiguration())
            let state = ClusterState(
                directory: RedisSessionDirectory(cluster: cluster, namespace: namespace),
                registry: RedisNodeRegistry(cluster: cluster, namespace: namespace),
                bus: RedisMessageBus(cluster: cluster, namespace: namespace),
                busChannel: channel,
                publishRaw: { _ = try await cluster.send(RESPCommand("SPUBLISH", .string($0), .bytes($1)), keyAt: 1) })
            do {
                try await body(state)
            } catch {
                await cluster.close()
                throw error
            }
            await cluster.close()
        }
    }
}
