import Foundation
import HeraldChildProcess
import HeraldRESP
import HeraldRedis

#if canImport(Glibc)
    import Glibc
#endif

/// The Redis servers that `scripts/test` starts (scripts/lib/redis.sh): what it tells the
/// tests through the environment, and a restart of a single server from its configuration.
public enum RedisTestServer {
    /// A variable `scripts/test` sets is missing: the test was run some other way.
    public struct Missing: Error, CustomStringConvertible {
        public var variable: String
        public var description: String {
            "\(self.variable) is not set: run the tests through scripts/test, which starts Redis (see scripts/lib/redis.sh)."
        }
    }

    /// The server could not be started again.
    public struct RestartFailed: Error, CustomStringConvertible {
        public var status: Int32
        public var description: String { "Redis could not be started again (its start exited with \(self.status))." }
    }

    /// The variable's value, nil when it is unset or empty.
    public static func variable(_ name: String) -> String? {
        guard let value = ProcessInfo.processInfo.environment[name], !value.isEmpty else { return nil }
        return value
    }

    /// The variable's value, or ``Missing``.
    public static func require(_ name: String) throws -> String {
        guard let value = self.variable(name) else { throw Missing(variable: name) }
        return value
    }

    /// Stops the server whose configuration file the variable `configuration` names
    /// (`SHUTDOWN NOSAVE` through `client`), waits for it to be gone, and starts it again from
    /// the same configuration, as the same user.
    public static func restart(configuration: String, using client: RedisClient) async throws {
        let configurationPath = try self.require(configuration)
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
        // The server daemonizes: the wait is for its parent. ChildSpawn hands the server no
        // descriptor of this process, which it would hold until the whole run ends.
        let status = try await BlockingWork.run { try ChildSpawn.run(arguments) }
        guard status == 0 else { throw RestartFailed(status: status) }
    }
}
