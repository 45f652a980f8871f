import Foundation
import HeraldTestUtils
import NIOConcurrencyHelpers

/// A `herald-bench` (or `herald`) child process for the bench's end-to-end tests, its output going to files so
/// that it never blocks on a full pipe and can be read while it runs.
final class BenchCommand: Sendable {
    /// How a run ended.
    struct Result: Sendable {
        var status: Int32
        var standardOutput: String
        var standardError: String
    }

    private struct Box: @unchecked Sendable {
        // @unchecked: Process is not Sendable; only touched while holding the lock.
        var process: Process
    }

    let arguments: [String]
    private let directory: URL
    private let outputPath: String
    private let errorPath: String
    private let process: NIOLockedValueBox<Box>

    /// Starts `herald-bench <arguments>`, or `executable` with them.
    init(_ arguments: [String], executable: URL? = nil) throws {
        self.arguments = arguments
        self.directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("herald-bench-\(UUID().uuidString.lowercased())", isDirectory: true)
        try FileManager.default.createDirectory(at: self.directory, withIntermediateDirectories: true)
        self.outputPath = self.directory.appendingPathComponent("stdout").path
        self.errorPath = self.directory.appendingPathComponent("stderr").path
        let process = Process()
        process.executableURL = try executable ?? HeraldProcess.locateBenchBinary()
        process.arguments = arguments
        _ = FileManager.default.createFile(atPath: self.outputPath, contents: nil)
        _ = FileManager.default.createFile(atPath: self.errorPath, contents: nil)
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: self.outputPath))
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: self.errorPath))
        process.standardInput = FileHandle.nullDevice
        try process.run()
        self.process = NIOLockedValueBox(Box(process: process))
    }

    deinit {
        self.process.withLockedValue { box in
            if box.process.isRunning {
                kill(box.process.processIdentifier, SIGKILL)
                box.process.waitUntilExit()
            }
        }
        try? FileManager.default.removeItem(at: self.directory)
    }

    var standardOutput: String {
        (try? String(contentsOfFile: self.outputPath, encoding: .utf8)) ?? ""
    }

    var standardError: String {
        (try? String(contentsOfFile: self.errorPath, encoding: .utf8)) ?? ""
    }

    var isRunning: Bool {
        self.process.withLockedValue { $0.process.isRunning }
    }

    /// Waits for the process to exit; kills it after `timeout`.
    func wait(timeout: Duration) async throws -> Result {
        let deadline = ContinuousClock.now + timeout
        while self.isRunning {
            if ContinuousClock.now >= deadline {
                self.terminate(signal: SIGKILL)
                throw BenchCommandError(
                    "herald \(self.arguments.joined(separator: " ")) did not finish within \(timeout)\nstdout:\n"
                        + self.standardOutput + "\nstderr:\n" + self.standardError
                )
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        let status = self.process.withLockedValue { $0.process.terminationStatus }
        return Result(status: status, standardOutput: self.standardOutput, standardError: self.standardError)
    }

    /// Waits until stdout has a line starting with `prefix`, and returns it.
    func line(startingWith prefix: String, timeout: Duration) async throws -> String {
        let deadline = ContinuousClock.now + timeout
        while true {
            if let line = self.standardOutput.split(separator: "\n").first(where: { $0.hasPrefix(prefix) }) {
                return String(line)
            }
            guard self.isRunning, ContinuousClock.now < deadline else {
                throw BenchCommandError(
                    "herald \(self.arguments.joined(separator: " ")) printed no \"\(prefix)\" line\nstderr:\n"
                        + self.standardError
                )
            }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    /// Sends `signal` and waits for the exit.
    func terminate(signal: Int32 = SIGTERM) {
        self.process.withLockedValue { box in
            guard box.process.isRunning else { return }
            kill(box.process.processIdentifier, signal)
            box.process.waitUntilExit()
        }
    }
}
