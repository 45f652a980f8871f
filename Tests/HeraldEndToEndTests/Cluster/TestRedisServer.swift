import Foundation
import HeraldRESP
import HeraldRedis
import HeraldTestUtils
import Logging
import NIOCore

/// A `redis-server` of a test's own, so that stopping, killing or restarting it disturbs no
/// other test: a configuration in a temporary directory, a free loopback port, and the server
/// in the foreground as a child of the test (its PID is the server's), run as the user
/// `scripts/test` runs its Redis as (scripts/lib/redis.sh) when the tests run as root.
actor TestRedisServer {
    let port: Int
    let password: String
    let directory: URL
    /// The TLS port, when the server was given a certificate (it serves plain TCP on `port` too).
    let tlsPort: Int?
    private let tls: TestPKI.Identity?
    private var process: Process?

    /// The server's address as `--redis` takes it.
    nonisolated var url: String { "redis://:\(self.password)@127.0.0.1:\(self.port)" }
    /// `host:port`.
    nonisolated var address: String { "127.0.0.1:\(self.port)" }

    private init(port: Int, password: String, directory: URL, tls: TestPKI.Identity?, tlsPort: Int?) {
        self.port = port
        self.password = password
        self.directory = directory
        self.tls = tls
        self.tlsPort = tlsPort
    }

    /// Starts a server in `parent` (a new temporary directory when nil); `cluster` makes it a
    /// Redis Cluster node with that node timeout; `tls` adds a TLS port with that certificate.
    /// Tries other ports when one is taken.
    static func start(
        password: String, cluster nodeTimeout: Int? = nil, tls: TestPKI.Identity? = nil, in parent: URL? = nil
    ) async throws -> TestRedisServer {
        let base = parent ?? FileManager.default.temporaryDirectory
        var lastError: (any Error)?
        for _ in 0..<8 {
            // The cluster bus listens on port + 10000.
            let port = Int.random(in: 20000..<(nodeTimeout == nil ? 60000 : 55000))
            let directory = base.appendingPathComponent("redis-\(port)-\(UUID().uuidString.prefix(6))")
            let server = TestRedisServer(
                port: port, password: password, directory: directory, tls: tls,
                tlsPort: tls == nil ? nil : Int.random(in: 60001..<65000))
            do {
                try await server.prepare(cluster: nodeTimeout)
                try await server.launch()
                return server
            } catch {
                lastError = error
                await server.remove()
            }
        }
        throw lastError ?? HeraldProcessError("Redis did not start.")
    }

    /// Starts the server again from its configuration (after ``stop()`` or ``kill()``).
    func launch() async throws {
        let process = Process()
        let user = ProcessInfo.processInfo.environment["HERALD_TEST_REDIS_USER"] ?? ""
        let configuration = self.directory.appendingPathComponent("redis.conf").path
        if getuid() == 0, !user.isEmpty, FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv") {
            // setpriv execs the server in place, so the child's PID stays the server's.
            process.executableURL = URL(fileURLWithPath: "/usr/bin/setpriv")
            process.arguments = [
                "--reuid=\(user)", "--regid=\(user)", "--init-groups", Self.serverBinary, configuration,
            ]
        } else {
            process.executableURL = URL(fileURLWithPath: Self.serverBinary)
            process.arguments = [configuration]
        }
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        try process.run()
        self.process = process
        let client = RedisClient(configuration: self.configuration(), logger: .init(label: "test.redis"))
        defer { Task { await client.close() } }
        let answered = await eventually(timeout: .seconds(10), interval: .milliseconds(100)) {
            guard process.isRunning else { return true }
            return (try? await client.send(RESPCommand("PING")).string) == "PONG"
        }
        guard answered, process.isRunning else {
            let log =
                (try? String(contentsOf: self.directory.appendingPathComponent("redis.log"), encoding: .utf8)) ?? ""
            throw HeraldProcessError("Redis did not start on port \(self.port).", standardError: log)
        }
    }

    /// The process id while the server runs.
    var pid: Int32? {
        guard let process = self.process, process.isRunning else { return nil }
        return process.processIdentifier
    }

    /// Stops the server with SIGTERM (it saves nothing) and waits for it to exit.
    func stop() async {
        await self.signal(SIGTERM)
    }

    /// Kills the server with SIGKILL, as a crash would, and waits for it to be gone.
    func kill() async {
        await self.signal(SIGKILL)
    }

    /// Stops the server and removes its directory.
    func remove() async {
        await self.kill()
        try? FileManager.default.removeItem(at: self.directory)
    }

    /// A client configuration for this server.
    nonisolated func configuration() -> RedisConfiguration {
        var configuration = RedisConfiguration(host: "127.0.0.1", port: self.port, password: self.password)
        configuration.backoff = RedisBackoff(
            initial: .milliseconds(20), maximum: .milliseconds(200), maximumAttempts: 2)
        configuration.connectTimeout = .seconds(2)
        configuration.commandTimeout = .seconds(5)
        return configuration
    }

    /// Sends one command to this server on a connection of its own.
    func send(_ command: RESPCommand) async throws -> RESPToken {
        let client = RedisClient(configuration: self.configuration(), logger: .init(label: "test.redis"))
        defer { Task { await client.close() } }
        return try await client.send(command)
    }

    private func signal(_ signal: Int32) async {
        guard let process = self.process else { return }
        if process.isRunning { Foundation.kill(process.processIdentifier, signal) }
        _ = await eventually(timeout: .seconds(10), interval: .milliseconds(20)) { !process.isRunning }
        if process.isRunning {
            Foundation.kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        self.process = nil
    }

    private func prepare(cluster nodeTimeout: Int?) throws {
        try FileManager.default.createDirectory(at: self.directory, withIntermediateDirectories: true)
        var lines = [
            "bind 127.0.0.1", "port \(self.port)", "protected-mode yes", "daemonize no",
            "dir \(self.directory.path)", "logfile \(self.directory.appendingPathComponent("redis.log").path)",
            "save \"\"", "appendonly no", "requirepass \(self.password)", "masterauth \(self.password)",
        ]
        if let nodeTimeout {
            lines += ["cluster-enabled yes", "cluster-config-file nodes.conf", "cluster-node-timeout \(nodeTimeout)"]
        }
        if let tls = self.tls, let tlsPort = self.tlsPort {
            lines += [
                "tls-port \(tlsPort)", "tls-cert-file \(tls.certificate)", "tls-key-file \(tls.key)",
                "tls-ca-cert-file \(tls.certificate)", "tls-auth-clients no",
            ]
        }
        try (lines.joined(separator: "\n") + "\n").write(
            to: self.directory.appendingPathComponent("redis.conf"), atomically: true, encoding: .utf8)
        let user = ProcessInfo.processInfo.environment["HERALD_TEST_REDIS_USER"] ?? ""
        if getuid() == 0, !user.isEmpty, let account = getpwnam(user) {
            for path in [self.directory.path, self.directory.appendingPathComponent("redis.conf").path] {
                _ = chown(path, account.pointee.pw_uid, account.pointee.pw_gid)
            }
        }
    }

    /// The `redis-server` that `scripts/test` found, else the one on the usual path.
    static var serverBinary: String {
        ProcessInfo.processInfo.environment["HERALD_TEST_REDIS_SERVER"] ?? "/usr/bin/redis-server"
    }
}
