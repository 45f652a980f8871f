import Foundation
import HeraldChildProcess
import NIOConcurrencyHelpers

/// A real `herald serve` process on loopback ports chosen by the kernel (or on another address,
/// through a launcher such as `ip netns exec`), with its own temporary data directory and
/// admin key.
///
/// The process is killed and its data directory removed when this object goes away, so a
/// failing test never leaves a server behind; tests that check shutdown call
/// ``terminate(timeout:)`` themselves.
public final class HeraldProcess: @unchecked Sendable {
    // @unchecked: `Process` is not Sendable; every mutable property, the current `Process`
    // included, is only read or written while holding `lock`.

    /// How a process ended.
    public enum Exit: Sendable, Hashable, CustomStringConvertible {
        case exited(Int32)
        case signalled(Int32)

        public var description: String {
            switch self {
            case .exited(let status): "exit status \(status)"
            case .signalled(let signal): "killed by signal \(signal)"
            }
        }
    }

    private struct Running {
        var process: Process
        var stdout: OutputCapture
        var stderr: OutputCapture
    }

    /// The `herald` executable being run.
    public let binary: URL
    /// The data directory, kept across ``restart(timeout:)``.
    public let dataDirectory: URL
    /// The admin key the server was given in `HERALD_ADMIN_KEY`.
    public let adminKey: String
    /// The flags given after the fixed ones (host, ports, data directory).
    public let extraArguments: [String]
    /// The address the client listeners bind (`--host`; the API's is `--api-host`, a flag).
    public let host: String
    /// The command that runs `herald` (its path and arguments follow), if any.
    public let launcher: [String]
    private let environment: [String: String]

    private let lock = NIOLock()
    private var running: Running?
    private var lastReady: HeraldReadyLine?
    private var previousStandardError = ""

    private init(
        binary: URL,
        extraArguments: [String],
        environment: [String: String],
        host: String,
        launcher: [String]
    ) throws {
        self.binary = binary
        self.extraArguments = extraArguments
        self.host = host
        self.launcher = launcher
        self.environment = environment
        self.adminKey = "admin-" + UUID().uuidString.lowercased()
        self.dataDirectory = FileManager.default.temporaryDirectory
            .appendingPathComponent("herald-e2e-\(UUID().uuidString.lowercased())", isDirectory: true)
        // herald serve refuses a data directory other users can read.
        try FileManager.default.createDirectory(
            at: self.dataDirectory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
    }

    deinit {
        if let running = self.running, running.process.isRunning {
            Foundation.kill(running.process.processIdentifier, SIGKILL)
            // Bounded, not waitUntilExit (see noticesExit).
            let deadline = ContinuousClock.now + .seconds(10)
            while running.process.isRunning, ContinuousClock.now < deadline { usleep(20_000) }
        }
        try? FileManager.default.removeItem(at: self.dataDirectory)
    }

    // MARK: Starting

    /// Starts `herald serve --host 127.0.0.1 --tcp-port 0 --ws-port 0 --api-port 0 --data-dir <temp>`
    /// followed by `arguments`, and waits for its ready line.
    ///
    /// - Parameters:
    ///   - arguments: extra flags, for example `["--heartbeat", "1", "--max-connections", "5"]`.
    ///   - environment: extra environment variables, on top of this process's and `HERALD_ADMIN_KEY`.
    ///   - readyTimeout: how long to wait for the ready line before failing with the server's stderr.
    ///   - host: the address the client listeners bind instead of loopback.
    ///   - launcher: a command (an absolute path first) that runs `herald`, such as
    ///     `["/usr/sbin/ip", "netns", "exec", name]`; it must exec `herald` in its own process,
    ///     so that signals reach the server.
    public static func start(
        _ arguments: [String] = [],
        environment: [String: String] = [:],
        readyTimeout: Duration = .seconds(30),
        host: String = "127.0.0.1",
        launcher: [String] = []
    ) async throws -> HeraldProcess {
        let server = try HeraldProcess(
            binary: try Self.locateBinary(),
            extraArguments: arguments,
            environment: environment,
            host: host,
            launcher: launcher
        )
        try await server.launch(readyTimeout: readyTimeout)
        return server
    }

    /// The built `herald` executable: `$HERALD_BINARY`, else `<package>/.build/debug/herald`.
    public static func locateBinary(filePath: String = #filePath) throws -> URL {
        try Self.executable("herald", variable: "HERALD_BINARY") {
            // <package>/Tests/HeraldTestUtils/Process/HeraldProcess.swift
            URL(fileURLWithPath: filePath)
                .deletingLastPathComponent()
                .deletingLastPathComponent()
                .deletingLastPathComponent()
                .deletingLastPathComponent()
                .appendingPathComponent(".build/debug/herald")
        }
    }

    /// The built `herald-bench` executable: `$HERALD_BENCH_BINARY`, else the one beside
    /// ``locateBinary(filePath:)``'s `herald`.
    public static func locateBenchBinary(filePath: String = #filePath) throws -> URL {
        try Self.executable("herald-bench", variable: "HERALD_BENCH_BINARY") {
            try Self.locateBinary(filePath: filePath).deletingLastPathComponent().appendingPathComponent("herald-bench")
        }
    }

    /// The program `name`: the path in `variable` when set, else `fallback()`; it must be executable.
    private static func executable(_ name: String, variable: String, fallback: () throws -> URL) throws -> URL {
        let url: URL
        if let path = ProcessInfo.processInfo.environment[variable], !path.isEmpty {
            url = URL(fileURLWithPath: path)
        } else {
            url = try fallback()
        }
        guard FileManager.default.isExecutableFile(atPath: url.path) else {
            throw HeraldProcessError(
                "\(name) binary not found or not executable at \(url.path); build it with "
                    + "`swift build --product \(name)` or set \(variable)"
            )
        }
        return url
    }

    private func launch(readyTimeout: Duration) async throws {
        let process = Process()
        let serve =
            [
                "serve", "--host", self.host, "--tcp-port", "0", "--ws-port", "0", "--api-port", "0",
                "--data-dir", self.dataDirectory.path,
            ] + self.extraArguments
        if let command = self.launcher.first {
            process.executableURL = URL(fileURLWithPath: command)
            process.arguments = self.launcher.dropFirst() + [self.binary.path] + serve
        } else {
            process.executableURL = self.binary
            process.arguments = serve
        }
        var environment = ProcessInfo.processInfo.environment
        environment["HERALD_ADMIN_KEY"] = self.adminKey
        environment.merge(self.environment) { _, new in new }
        process.environment = environment
        let stdoutPipe = Pipe()
        let stderrPipe = Pipe()
        process.standardOutput = stdoutPipe
        process.standardError = stderrPipe
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let running = Running(
            process: process,
            stdout: OutputCapture(reading: stdoutPipe.fileHandleForReading),
            stderr: OutputCapture(reading: stderrPipe.fileHandleForReading)
        )
        self.lock.withLock {
            self.running = running
            self.lastReady = nil
        }

        let deadline = ContinuousClock.now + readyTimeout
        while true {
            if let ready = running.stdout.lines.lazy.compactMap({ HeraldReadyLine(parsing: $0) }).first {
                self.lock.withLock { self.lastReady = ready }
                return
            }
            if !process.isRunning {
                // Give the capture threads a moment to read the last words.
                try? await Task.sleep(for: .milliseconds(100))
                throw HeraldProcessError(
                    "herald exited (\(Self.exit(of: process))) before printing its ready line; stdout:\n"
                        + running.stdout.text,
                    standardError: running.stderr.text
                )
            }
            if ContinuousClock.now >= deadline {
                Foundation.kill(process.processIdentifier, SIGKILL)
                _ = await Self.noticesExit(of: process)
                throw HeraldProcessError(
                    "herald printed no ready line within \(readyTimeout); stdout:\n" + running.stdout.text,
                    standardError: running.stderr.text
                )
            }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    // MARK: What the running server told us

    /// The ready line of the current run.
    public var ready: HeraldReadyLine {
        self.lock.withLock {
            guard let ready = self.lastReady else {
                preconditionFailure("HeraldProcess used before it was ready")
            }
            return ready
        }
    }

    /// The client TCP port.
    public var tcpPort: Int { self.ready.tcp.port }
    /// The client WebSocket port (path `/ws`).
    public var webSocketPort: Int { self.ready.webSocket.port }
    /// The HTTP API port.
    public var apiPort: Int { self.ready.api.port }
    /// The node id from the ready line.
    public var node: String { self.ready.node }
    /// The API's base URL, for example `http://127.0.0.1:43123`.
    public var apiBaseURL: URL {
        let api = self.ready.api
        // The ready line may print the wildcard address it bound; connect to loopback then.
        let host = (api.host == "0.0.0.0" || api.host == "::") ? "127.0.0.1" : api.host
        // Both parts are numeric, so the URL always parses.
        return URL(string: "http://\(host):\(api.port)")!
    }

    /// The process id of the current run, or `nil` when not running.
    public var pid: Int32? {
        self.lock.withLock {
            guard let process = self.running?.process, process.isRunning else { return nil }
            return process.processIdentifier
        }
    }

    /// Whether the current run is still alive.
    public var isRunning: Bool { self.pid != nil }

    /// Everything the server wrote to stderr (its logs), previous runs included.
    public var standardError: String {
        self.lock.withLock { self.previousStandardError + (self.running?.stderr.text ?? "") }
    }

    /// Everything the current run wrote to stdout.
    public var standardOutput: String {
        self.lock.withLock { self.running?.stdout.text ?? "" }
    }

    /// The server's resident set size in bytes, from `/proc/<pid>/status` (Linux only).
    public func residentMemoryBytes() -> Int? {
        guard let pid = self.pid,
            let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
        else { return nil }
        for line in status.split(separator: "\n") where line.hasPrefix("VmRSS:") {
            let kilobytes = line.split(separator: " ").dropFirst().first.flatMap { Int($0) }
            return kilobytes.map { $0 * 1024 }
        }
        return nil
    }

    // MARK: Stopping

    /// Sends SIGTERM and waits for the process to exit. If it has not exited after
    /// `timeout`, kills it and throws an error that says what its threads were doing.
    ///
    /// The default leaves room for the SQLite store's closing checkpoint (an fsync), which a
    /// disk busy with a parallel build and test run can hold up for seconds.
    @discardableResult
    public func terminate(timeout: Duration = .seconds(30)) async throws -> Exit {
        try await self.stop(signal: SIGTERM, timeout: timeout)
    }

    /// Sends SIGKILL and waits for the process to go away.
    @discardableResult
    public func kill() async throws -> Exit {
        try await self.stop(signal: SIGKILL, timeout: .seconds(10))
    }

    /// Stops the current run with SIGTERM (if it is still running) and starts a new one on
    /// the same data directory, admin key and flags. Ports change: read them again.
    public func restart(readyTimeout: Duration = .seconds(30)) async throws {
        if self.isRunning {
            try await self.terminate()
        }
        self.lock.withLock {
            self.previousStandardError += self.running?.stderr.text ?? ""
            self.running = nil
        }
        try await self.launch(readyTimeout: readyTimeout)
    }

    private func stop(signal: Int32, timeout: Duration) async throws -> Exit {
        guard let running = self.lock.withLock({ self.running }) else {
            throw HeraldProcessError("herald was never started")
        }
        let process = running.process
        if process.isRunning {
            Foundation.kill(process.processIdentifier, signal)
        }
        let deadline = ContinuousClock.now + timeout
        while process.isRunning {
            if ContinuousClock.now >= deadline {
                let pid = process.processIdentifier
                let report = await BlockingWork.run { StuckProcessReport.describe(pid: pid) }
                Foundation.kill(pid, SIGKILL)
                let noticed = await Self.noticesExit(of: process)
                throw HeraldProcessError(
                    "herald did not exit within \(timeout) of signal \(signal); it was killed"
                        + (noticed ? "" : ", and even that exit was not noticed within 10 s: another process holds the descriptor by which Foundation learns of it")
                        + "\n\(report)",
                    standardError: running.stderr.text
                )
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        return Self.exit(of: process)
    }

    /// Waits up to 10 s for Foundation to notice that a killed process exited. It learns of
    /// the exit when a socket the child inherited closes, so if another program inherited that
    /// socket too (see HeraldChildProcess's ChildSpawn), `waitUntilExit` would never return: a
    /// test then fails here instead of hanging the run.
    private static func noticesExit(of process: Process) async -> Bool {
        let deadline = ContinuousClock.now + .seconds(10)
        while process.isRunning, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(20))
        }
        return !process.isRunning
    }

    private static func exit(of process: Process) -> Exit {
        switch process.terminationReason {
        case .exit: .exited(process.terminationStatus)
        case .uncaughtSignal: .signalled(process.terminationStatus)
        @unknown default: .exited(process.terminationStatus)
        }
    }
}
