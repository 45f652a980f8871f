import Foundation
import HeraldChildProcess

#if canImport(Glibc)
    import Glibc
#endif

#if canImport(FoundationEssentials)
    import FoundationEssentials
#endif

/// A PostgreSQL server of one test's own, for tests that stop and restart the server: the
/// shared one of `scripts/test` serves every other test at the same time.
///
/// Made with the binaries and the unprivileged user that `scripts/test` exports
/// (`HERALD_TEST_PG_BIN`, `HERALD_TEST_PG_USER`): `initdb` into a temporary directory owned
/// by that user, then `pg_ctl` as that user (PostgreSQL refuses to run as root).
public final class PostgresTestCluster: Sendable {
    public struct CommandFailed: Error, CustomStringConvertible {
        public var command: String
        public var status: Int32
        public var output: String
        public var description: String { "\(command) exited with \(status): \(output)" }
    }

    public let bin: String
    public let user: String
    public let directory: String
    public let port: Int
    public var dataDirectory: String { self.directory + "/data" }
    public var url: String { "postgres://herald@127.0.0.1:\(self.port)/postgres" }

    private init(bin: String, user: String, directory: String, port: Int) {
        self.bin = bin
        self.user = user
        self.directory = directory
        self.port = port
    }

    /// Initialises and starts a new cluster on a free loopback port.
    public static func start() async throws -> PostgresTestCluster {
        let bin = try Self.variable("HERALD_TEST_PG_BIN")
        let user = try Self.variable("HERALD_TEST_PG_USER")
        let directory = "/tmp/herald-pg-fault-" + UUID().uuidString.lowercased()
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
        if getuid() == 0 {
            try FileManager.default.setAttributes([.ownerAccountName: user], ofItemAtPath: directory)
        }
        var lastError: (any Error)?
        for attempt in 0..<5 {
            let port = 20_000 + Int.random(in: 0..<40_000)
            let cluster = PostgresTestCluster(bin: bin, user: user, directory: directory, port: port)
            do {
                if attempt == 0 {
                    try await cluster.runAsUser(
                        "initdb", "-D", cluster.dataDirectory, "-U", "herald", "--auth=trust", "-E", "UTF8",
                        "--no-locale"
                    )
                }
                try cluster.writeSettings()
                try await cluster.startServer()
                return cluster
            } catch {
                lastError = error
            }
        }
        try? FileManager.default.removeItem(atPath: directory)
        throw lastError ?? CommandFailed(command: "pg_ctl start", status: -1, output: "no free port")
    }

    /// An environment variable `scripts/test` exports; a clear error when it is missing.
    private static func variable(_ name: String) throws -> String {
        guard let value = ProcessInfo.processInfo.environment[name], !value.isEmpty else {
            throw CommandFailed(
                command: name,
                status: -1,
                output: "\(name) is not set: run the tests through scripts/test, which starts PostgreSQL"
            )
        }
        return value
    }

    /// Starts the (stopped) server again with the same data and port.
    public func startServer() async throws {
        try await self.runAsUser(
            "pg_ctl", "-D", self.dataDirectory, "-l", self.directory + "/server.log", "-w", "-t", "60", "start")
    }

    /// Stops the server as an operator would (`pg_ctl stop -m fast`: sessions are ended).
    public func stopServer() async throws {
        try await self.runAsUser("pg_ctl", "-D", self.dataDirectory, "-m", "fast", "-w", "-t", "60", "stop")
    }

    /// Stops the server if it runs and removes its directory.
    public func destroy() async {
        if FileManager.default.fileExists(atPath: self.dataDirectory + "/postmaster.pid") {
            try? await self.stopServer()
        }
        try? FileManager.default.removeItem(atPath: self.directory)
    }

    private func writeSettings() throws {
        let settings = """

            listen_addresses = '127.0.0.1'
            port = \(self.port)
            unix_socket_directories = '\(self.directory)'
            fsync = on

            """
        let path = self.dataDirectory + "/postgresql.auto.conf"
        var contents = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        contents += settings
        try contents.write(toFile: path, atomically: false, encoding: .utf8)
    }

    /// Runs one of the server's programs as the unprivileged user (``ChildSpawn``: `pg_ctl
    /// start` leaves the server running), waiting for it on a thread of its own.
    private func runAsUser(_ program: String, _ arguments: String...) async throws {
        let executable = self.bin + "/" + program
        let argv =
            getuid() == 0
            ? ["/usr/sbin/runuser", "-u", self.user, "--", executable] + arguments : [executable] + arguments
        let logPath = self.directory + "/\(program).log"
        let exitStatus = try await BlockingWork.run { try ChildSpawn.run(argv, output: logPath) }
        guard exitStatus == 0 else {
            throw CommandFailed(
                command: ([program] + arguments).joined(separator: " "),
                status: exitStatus,
                output: (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
            )
        }
    }
}
