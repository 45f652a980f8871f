import HeraldRESP
import Logging
import NIOCore
import Testing

@testable import HeraldRedis

@Suite("the Redis Cluster client through a failover, against an in-process cluster")
struct RedisClusterFailoverTests {
    @Test(
        "a primary lost and its slots taken over: the map is read from a live node first, CLUSTERDOWN is waited out, the command runs once on the heir"
    )
    func failover() async throws {
        let cluster = FakeRedisCluster()
        var node = RedisConfiguration(host: "node0", port: 7000)
        node.backoff = RedisBackoff(initial: .milliseconds(1), maximum: .milliseconds(4))
        let configuration = RedisClusterConfiguration(
            seeds: cluster.nodes, node: node, refreshInterval: .hours(1), minimumRefreshInterval: .zero)
        let client = RedisClusterClient(configuration: configuration, transport: cluster, logger: Logger(label: "test"))
        let key = "failing-over"
        _ = try await client.currentSlotMap()
        let (lost, heir) = try #require(await cluster.failOver(ownerOf: key))
        await cluster.refuse(with: "CLUSTERDOWN The cluster is down", times: 2)

        #expect(try await client.send(RESPCommand("SET", .string(key), "1"), keyAt: 1).string == "OK")
        #expect(await cluster.value(of: key, on: heir) == "1")
        let calls = await cluster.calls
        let failed = try #require(calls.firstIndex { $0.node == lost && $0.commands.contains("SET") })
        let read = try #require(calls[(failed + 1)...].first { $0.commands.contains("SHARDS") })
        #expect(read.node != lost, "the map was asked of the node that had just failed")
        #expect(calls.filter { $0.node == heir && $0.commands.contains("SET") }.count == 3)
        await client.close()
    }
}
