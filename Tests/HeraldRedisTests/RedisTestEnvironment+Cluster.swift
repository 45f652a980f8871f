import HeraldRESP
import HeraldRedis
import HeraldRedisTestUtils
import NIOCore
import Testing

/// The Redis Cluster that `scripts/test` starts (scripts/lib/redis.sh).
extension RedisTestEnvironment {
    static var isClusterAvailable: Bool {
        RedisTestServer.variable("HERALD_TEST_REDIS_CLUSTER_URL") != nil
    }

    static let clusterSkipReason: Comment =
        "HERALD_TEST_REDIS_CLUSTER_URL is not set: run the tests through scripts/test, which starts a Redis Cluster (see scripts/lib/redis.sh)"

    /// The test cluster's configuration, with short waits so that failures show quickly.
    static func clusterConfiguration() throws -> RedisClusterConfiguration {
        var configuration = try RedisClusterConfiguration(url: try RedisTestServer.require("HERALD_TEST_REDIS_CLUSTER_URL"))
        configuration.node.poolSize = 2
        configuration.node.commandTimeout = .seconds(10)
        configuration.node.backoff = RedisBackoff(initial: .milliseconds(20), maximum: .milliseconds(500), maximumAttempts: 10)
        return configuration
    }

    /// A plain client of one node of the test cluster, for administration.
    static func nodeClient(_ node: RedisClusterNode) throws -> RedisClient {
        var configuration = try self.clusterConfiguration().node
        configuration.host = node.host
        configuration.port = node.port
        return RedisClient(configuration: configuration)
    }
}
