import HeraldRESP
import HeraldRedis
import HeraldRedisTestUtils
import NIOCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The Redis servers `scripts/test` starts (scripts/lib/redis.sh): a single server of this
/// suite's own (the Redis client's tests restart theirs and kill its connections), and the
/// cluster.
enum ClusterTestEnvironment {
    static let backoff = RedisBackoff(initial: .milliseconds(20), maximum: .milliseconds(500), maximumAttempts: 60)

    /// The suite's single server's configuration, with short waits.
    static func configuration() throws -> RedisConfiguration {
        var configuration = try RedisConfiguration(url: try RedisTestServer.require("HERALD_TEST_STATE_REDIS_URL"))
        configuration.poolSize = 2
        configuration.commandTimeout = .seconds(10)
        configuration.backoff = Self.backoff
        return configuration
    }

    static func clusterConfiguration() throws -> RedisClusterConfiguration {
        var configuration = try RedisClusterConfiguration(url: try RedisTestServer.require("HERALD_TEST_REDIS_CLUSTER_URL"))
        configuration.node.poolSize = 2
        configuration.node.commandTimeout = .seconds(10)
        configuration.node.backoff = Self.backoff
        return configuration
    }

    /// A namespace of this test's own, so that tests sharing a server never see each other's keys.
    static func namespace() -> String {
        "herald-test-\(UInt64.random(in: 0...UInt64.max))"
    }

    /// Restarts the suite's single server (``RedisTestServer/restart(configuration:using:)``).
    static func restartServer(using client: RedisClient) async throws {
        try await RedisTestServer.restart(configuration: "HERALD_TEST_STATE_REDIS_CONF", using: client)
    }
}
