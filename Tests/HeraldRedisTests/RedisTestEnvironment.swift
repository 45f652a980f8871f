import Foundation
import HeraldRESP
import HeraldRedis
import HeraldRedisTestUtils
import NIOCore
import Testing

/// The Redis that `scripts/test` starts (scripts/lib/redis.sh), and helpers to use it.
enum RedisTestEnvironment {
    static var isAvailable: Bool {
        RedisTestServer.variable("HERALD_TEST_REDIS_URL") != nil
    }

    static let skipReason: Comment =
        "HERALD_TEST_REDIS_URL is not set: run the tests through scripts/test, which starts Redis (see scripts/lib/redis.sh)"

    /// The test server's configuration, with short waits so that failures show quickly.
    static func configuration(poolSize: Int = 2, commandTimeout: TimeAmount = .seconds(10)) throws -> RedisConfiguration {
        var configuration = try RedisConfiguration(url: try RedisTestServer.require("HERALD_TEST_REDIS_URL"))
        configuration.poolSize = poolSize
        configuration.commandTimeout = commandTimeout
        configuration.backoff = RedisBackoff(initial: .milliseconds(20), maximum: .milliseconds(500), maximumAttempts: 60)
        return configuration
    }

    /// A key of this test's own.
    static func key(_ name: String) -> String {
        "herald-test:\(name):\(UInt64.random(in: 0...UInt64.max))"
    }

    /// Restarts the server (``RedisTestServer/restart(configuration:using:)``).
    static func restartServer(using client: RedisClient) async throws {
        try await RedisTestServer.restart(configuration: "HERALD_TEST_REDIS_CONF", using: client)
    }
}

/// Fails instead of hanging when `body` does not finish within `seconds`.
func withinSeconds<T: Sendable>(_ seconds: Int, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
    try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(nanoseconds: UInt64(seconds) * 1_000_000_000)
            return nil
        }
        defer { group.cancelAll() }
        guard let first = try await group.next(), let value = first else {
            throw RedisTestTimeout(seconds: seconds)
        }
        return value
    }
}

struct RedisTestTimeout: Error, CustomStringConvertible {
    var seconds: Int
    var description: String { "The test did not finish within \(self.seconds) seconds." }
}
