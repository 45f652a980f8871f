import Dispatch
import Foundation

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

    /// Runs one of the server's programs as the unprivileged user, waiting for it to end
    /// on a Dispatch thread (not one of the few that run Swift tasks).
    private func runAsUser(_ program: String, _ arguments: String...) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            DispatchQueue.global().async {
                continuation.resume(with: Result { try self.runBlocking(program, arguments) })
            }
        }
    }

    /// Spawns the program and waits for it with `posix_spawn` and `waitpid`, not Foundation's
    /// `Process`: that one learns of a child's exit from a descriptor the child inherits, and
    /// the server that `pg_ctl start` leaves running would inherit and hold it (and any other
    /// descriptor of this process) for good. Here the child gets only stdin (/dev/null) and
    /// stdout and stderr (a log file).
    private func runBlocking(_ program: String, _ arguments: [String]) throws {
        let executable = self.bin + "/" + program
        let argv =
            getuid() == 0
            ? ["/usr/sbin/runuser", "-u", self.user, "--", executable] + arguments : [executable] + arguments
        let logPath = self.directory + "/\(program).log"
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, logPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        Self.closeInheritedDescriptors(&actions)
        let cArguments: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
        defer { cArguments.forEach { free($0) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, argv[0], &actions, nil, cArguments, environ)
        guard spawned == 0 else {
            throw CommandFailed(
                command: argv.joined(separator: " "), status: -1, output: "posix_spawn failed: \(spawned)")
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 {
            guard errno == EINTR else { break }
        }
        // WIFEXITED and WEXITSTATUS, which Swift does not import.
        let exitStatus = (status & 0x7f) == 0 ? (status >> 8) & 0xff : -(status & 0x7f)
        guard exitStatus == 0 else {
            throw CommandFailed(
                command: ([program] + arguments).joined(separator: " "),
                status: exitStatus,
                output: (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
            )
        }
    }

    /// glibc's `posix_spawn_file_actions_addclosefrom_np` (2.34+; Swift does not import it):
    /// the child closes every descriptor from 3 up. Without it, the ones open now are listed.
    private static func closeInheritedDescriptors(_ actions: inout posix_spawn_file_actions_t) {
        typealias CloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
        if let symbol = dlsym(nil, "posix_spawn_file_actions_addclosefrom_np") {
            _ = unsafeBitCast(symbol, to: CloseFrom.self)(&actions, 3)
            return
        }
        let open = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
        for descriptor in open.compactMap(Int32.init) where descriptor > 2 {
            posix_spawn_file_actions_addclose(&actions, descriptor)
        }
    }
}
