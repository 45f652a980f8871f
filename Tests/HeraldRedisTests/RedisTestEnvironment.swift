import Foundation
import HeraldRESP
import HeraldRedis
import NIOCore
import Testing

/// The Redis that `scripts/test` starts (scripts/lib/redis.sh), and helpers to use it.
enum RedisTestEnvironment {
    static func variable(_ name: String) -> String? {
        guard let value = ProcessInfo.processInfo.environment[name], !value.isEmpty else { return nil }
        return value
    }

    static var isAvailable: Bool {
        self.variable("HERALD_TEST_REDIS_URL") != nil
    }

    static let skipReason: Comment =
        "HERALD_TEST_REDIS_URL is not set: run the tests through scripts/test, which starts Redis (see scripts/lib/redis.sh)"

    struct Missing: Error, CustomStringConvertible {
        var variable: String
        var description: String { "\(self.variable) is not set: run the tests through scripts/test (see scripts/lib/redis.sh)" }
    }

    static func require(_ name: String) throws -> String {
        guard let value = self.variable(name) else { throw Missing(variable: name) }
        return value
    }

    /// The test server's configuration, with short waits so that failures show quickly.
    static func configuration(poolSize: Int = 2, commandTimeout: TimeAmount = .seconds(10)) throws -> RedisConfiguration {
        var configuration = try RedisConfiguration(url: try self.require("HERALD_TEST_REDIS_URL"))
        configuration.poolSize = poolSize
        configuration.commandTimeout = commandTimeout
        configuration.backoff = RedisBackoff(initial: .milliseconds(20), maximum: .milliseconds(500), maximumAttempts: 60)
        return configuration
    }

    /// A key of this test's own.
    static func key(_ name: String) -> String {
        "herald-test:\(name):\(UInt64.random(in: 0...UInt64.max))"
    }

    /// Stops the server (`SHUTDOWN NOSAVE`), waits for it to be gone, and starts it again
    /// from the same configuration, as the same user.
    static func restartServer(using client: RedisClient) async throws {
        let configurationPath = try self.require("HERALD_TEST_REDIS_CONF")
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
        // posix_spawn and waitpid rather than Foundation's Process, whose exit detection
        // missed this short-lived parent. The server daemonizes: the wait is for its parent.
        var argv = arguments.map { strdup($0) }
        defer { argv.forEach { free($0) } }
        argv.append(nil)
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, arguments[0], nil, nil, argv, environ)
        guard spawned == 0 else { throw RedisRestartFailed(status: spawned) }
        var status: Int32 = 0
        _ = waitpid(pid, &status, 0)
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

struct RedisRestartFailed: Error, CustomStringConvertible {
    var status: Int32
    var description: String { "Redis could not be started again (posix_spawn returned \(self.status))." }
}

struct RedisTestTimeout: Error, CustomStringConvertible {
    var seconds: Int
    var description: String { "The test did not finish within \(self.seconds) seconds." }
}
