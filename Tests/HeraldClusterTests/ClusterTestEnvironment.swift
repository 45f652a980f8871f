import HeraldRESP
import HeraldRedis
import NIOCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The Redis servers `scripts/test` starts (scripts/lib/redis.sh): the single one, the
/// cluster, and a single one of the bus's restart test alone, so that restarting it
/// disturbs no other test.
enum ClusterTestEnvironment {
    /// A variable `scripts/test` sets is missing: the test was run some other way.
    struct Missing: Error, CustomStringConvertible {
        var variable: String
        var description: String {
            "\(self.variable) is not set: run the tests through scripts/test, which starts Redis (see scripts/lib/redis.sh)."
        }
    }

    static func require(_ name: String) throws -> String {
        guard let value = ProcessInfo.processInfo.environment[name], !value.isEmpty else { throw Missing(variable: name) }
        return value
    }

    static let backoff = RedisBackoff(initial: .milliseconds(20), maximum: .milliseconds(500), maximumAttempts: 60)

    /// The single server's configuration (or the restart server's), with short waits.
    static func configuration(urlVariable: String = "HERALD_TEST_REDIS_URL") throws -> RedisConfiguration {
        var configuration = try RedisConfiguration(url: try self.require(urlVariable))
        configuration.poolSize = 2
        configuration.commandTimeout = .seconds(10)
        configuration.backoff = Self.backoff
        return configuration
    }

    static func clusterConfiguration() throws -> RedisClusterConfiguration {
        var configuration = try RedisClusterConfiguration(url: try self.require("HERALD_TEST_REDIS_CLUSTER_URL"))
        configuration.node.poolSize = 2
        configuration.node.commandTimeout = .seconds(10)
        configuration.node.backoff = Self.backoff
        return configuration
    }

    /// A namespace of this test's own, so that tests sharing a server never see each other's keys.
    static func namespace() -> String {
        "herald-test-\(UInt64.random(in: 0...UInt64.max))"
    }

    /// Stops the restart test's server (`SHUTDOWN NOSAVE`), waits for it to be gone and
    /// starts it again from the same configuration, as the same user.
    static func restartServer(using client: RedisClient) async throws {
        let configurationPath = try self.require("HERALD_TEST_BUS_REDIS_CONF")
        let server = try self.require("HERALD_TEST_REDIS_SERVER")
        let user = try self.require("HERALD_TEST_REDIS_USER")
        let pidFile = try String(contentsOfFile: configurationPath, encoding: .utf8)
            .split(separator: "\n")
            .first { $0.hasPrefix("pidfile ") }
            .map { String($0.dropFirst("pidfile ".count)) }
        // The server closes every connection without a reply: the error is expected.
        _ = try? await client.send(RESPCommand("SHUTDOWN", "NOSAVE"))
        if let pidFile {
            for _ in 0..<200 where FileManager.default.fileExists(atPath: pidFile) {
                try await Task.sleep(nanoseconds: 50_000_000)
            }
        }
        let arguments = getuid() == 0 ? ["/usr/sbin/runuser", "-u", user, "--", server, configurationPath] : [server, configurationPath]
        // The server daemonizes: the wait is for its parent.
        var argv = arguments.map { strdup($0) }
        defer { argv.forEach { free($0) } }
        argv.append(nil)
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, arguments[0], nil, nil, argv, environ)
        guard spawned == 0 else { throw RestartFailed(status: spawned) }
        var status: Int32 = 0
        _ = waitpid(pid, &status, 0)
    }

    struct RestartFailed: Error, CustomStringConvertible {
        var status: Int32
        var description: String { "Redis could not be started again (posix_spawn returned \(self.status))." }
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
        guard let first = try await group.next(), let value = first else { throw TestTimeout(seconds: seconds) }
        return value
    }
}

struct TestTimeout: Error, CustomStringConvertible {
    var seconds: Int
    var description: String { "The test did not finish within \(self.seconds) seconds." }
}
