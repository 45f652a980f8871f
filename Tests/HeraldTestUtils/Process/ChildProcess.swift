import Foundation

/// A helper program a test runs beside `herald` (a Redis server, a `herald listen` client),
/// its output kept; killed when this object goes away, so a failing test leaves nothing behind.
public final class ChildProcess {
    private let process: Process
    private let output: OutputCapture
    private let errors: OutputCapture

    /// Starts `arguments` (an absolute path first).
    public init(_ arguments: [String]) throws {
        guard let executable = arguments.first else { throw HeraldProcessError("no program to start") }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = Array(arguments.dropFirst())
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        process.standardInput = FileHandle.nullDevice
        try process.run()
        self.process = process
        self.output = OutputCapture(reading: output.fileHandleForReading)
        self.errors = OutputCapture(reading: errors.fileHandleForReading)
    }

    deinit {
        self.stop()
    }

    /// The complete lines written to stdout so far.
    public var lines: [Substring] { self.output.lines }

    /// Everything written to stdout and stderr so far, to explain a failure.
    public var transcript: String {
        "stdout:\n\(self.output.text)\nstderr:\n\(self.errors.text)"
    }

    /// Whether the program still runs.
    public var isRunning: Bool { self.process.isRunning }

    /// Kills the program (SIGKILL) and waits for it.
    public func stop() {
        guard self.process.isRunning else { return }
        kill(self.process.processIdentifier, SIGKILL)
        self.process.waitUntilExit()
    }
}
