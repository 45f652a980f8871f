import HeraldRESP
import Logging
import NIOCore
import Testing

@testable import HeraldRedis

@Suite("the Redis Cluster client sends again what the cluster refused without running it")
struct RedisClusterRefusalTests {
    private func client(_ cluster: FakeRedisCluster, maximumRedirects: Int = 5) -> RedisClusterClient {
        var node = RedisConfiguration(host: "node0", port: 7000)
        node.backoff = RedisBackoff(initial: .milliseconds(1), maximum: .milliseconds(4))
        let configuration = RedisClusterConfiguration(
            seeds: [cluster.nodes[0]],
            node: node,
            maximumRedirects: maximumRedirects,
            refreshInterval: .hours(1),
            minimumRefreshInterval: .hours(1)
        )
        return RedisClusterClient(configuration: configuration, transport: cluster, logger: Logger(label: "test"))
    }

    @Test("the error lines are told apart from other errors")
    func parsing() {
        #expect(RedisClusterRefusal(errorMessage: "CLUSTERDOWN The cluster is down")?.kind == .clusterDown)
        #expect(RedisClusterRefusal(errorMessage: "CLUSTERDOWN Hash slot not served")?.kind == .clusterDown)
        #expect(
            RedisClusterRefusal(errorMessage: "TRYAGAIN Multiple keys request during rehashing of slot")?.kind
                == .tryAgain)
        #expect(RedisClusterRefusal(errorMessage: "MOVED 1 127.0.0.1:7000") == nil)
        #expect(RedisClusterRefusal(errorMessage: "ERR unknown command") == nil)
        #expect(RedisClusterRefusal(RedisClientError(.connectionClosed, message: "CLUSTERDOWN")) == nil)
    }

    @Test(
        "CLUSTERDOWN and TRYAGAIN, a few times, are waited out and the command runs once",
        arguments: ["CLUSTERDOWN The cluster is down", "TRYAGAIN Multiple keys request during rehashing of slot"])
    func refusedThenRun(line: String) async throws {
        let cluster = FakeRedisCluster()
        let client = self.client(cluster)
        await cluster.refuse(with: line, times: 3)
        #expect(try await client.send(RESPCommand("SET", "k", "v"), keyAt: 1).string == "OK")
        #expect(try await client.send(RESPCommand("GET", "k"), keyAt: 1).string == "v")
        #expect(await cluster.calls(of: "SET").count == 4)
        await client.close()
    }

    @Test("every command of a pipeline is sent again, and the replies keep the caller's order")
    func pipelineRefused() async throws {
        let cluster = FakeRedisCluster()
        let client = self.client(cluster)
        let keys = (0..<9).map { "key:\($0)" }
        await cluster.refuse(with: "CLUSTERDOWN The cluster is down", times: 4)
        let replies = try await client.pipeline(
            keys.map { RedisClusterCommand(RESPCommand("SET", .string($0), .string("v-\($0)")), keyAt: 1) })
        #expect(replies.allSatisfy { (try? $0.get().string) == "OK" })
        let values = try await client.pipeline(
            keys.map { RedisClusterCommand(RESPCommand("GET", .string($0)), keyAt: 1) })
        #expect(values.map { try? $0.get().string } == keys.map { "v-\($0)" })
        await client.close()
    }

    @Test("a refusal that outlasts the retries is the caller's error, with Redis's line")
    func refusedForGood() async throws {
        let cluster = FakeRedisCluster()
        let client = self.client(cluster, maximumRedirects: 2)
        await cluster.refuse(with: "CLUSTERDOWN The cluster is down", times: 10)
        do {
            _ = try await client.send(RESPCommand("SET", "k", "v"), keyAt: 1)
            Issue.record("the command succeeded")
        } catch let error as RedisClientError {
            #expect(error.code == .commandError)
            #expect(error.message?.hasPrefix("CLUSTERDOWN") == true)
        }
        #expect(await cluster.calls(of: "SET").count == 3)
        await client.close()
    }
}
