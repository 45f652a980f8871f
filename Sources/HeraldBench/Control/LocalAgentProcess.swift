import Foundation
import NIOConcurrencyHelpers

#if canImport(Glibc)
    import Glibc
#endif

/// A `herald-bench agent --stdio` child process, spoken to over its stdin and stdout.
final class LocalAgentProcess: Sendable {
    /// Process id of the child.
    let pid: Int32
    /// Our end of its stdout (read) and stdin (write), duplicated for NIO to own.
    let readDescriptor: Int32
    let writeDescriptor: Int32
    // Process is not Sendable; only `isRunning` and `terminate` are used, under the lock.
    private let process: NIOLockedValueBox<ProcessBox>

    private struct ProcessBox: @unchecked Sendable {
        // @unchecked: only touched while holding the box's lock.
        var process: Process
    }

    /// Starts `executable bench agent --stdio`; its stderr is ours (its logs show with ours).
    init(executable: URL, arguments: [String] = ["agent", "--stdio"]) throws {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        let input = Pipe()
        let output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        try process.run()
        // NIO takes ownership of what it is given: give it close-on-exec copies (so later
        // workers do not inherit them and keep this one's stdin open), and close the rest here,
        // the child's ends included, so that either side sees the other's end as EOF.
        let readDescriptor = fcntl(output.fileHandleForReading.fileDescriptor, F_DUPFD_CLOEXEC, 0)
        let writeDescriptor = fcntl(input.fileHandleForWriting.fileDescriptor, F_DUPFD_CLOEXEC, 0)
        try? output.fileHandleForReading.close()
        try? output.fileHandleForWriting.close()
        try? input.fileHandleForWriting.close()
        try? input.fileHandleForReading.close()
        guard readDescriptor >= 0, writeDescriptor >= 0 else {
            process.terminate()
            throw BenchError("cannot keep the pipes of a worker process: \(String(cString: strerror(errno)))")
        }
        self.pid = process.processIdentifier
        self.readDescriptor = readDescriptor
        self.writeDescriptor = writeDescriptor
        self.process = NIOLockedValueBox(ProcessBox(process: process))
    }

    /// Waits up to `timeout` for the child to exit (it does once its stdin closes), then
    /// sends SIGTERM, then SIGKILL.
    func finish(timeout: Duration = .seconds(5)) async {
        let deadline = ContinuousClock.now + timeout
        while self.isRunning, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(20))
        }
        guard self.isRunning else { return }
        kill(self.pid, SIGTERM)
        let killDeadline = ContinuousClock.now + .seconds(2)
        while self.isRunning, ContinuousClock.now < killDeadline {
            try? await Task.sleep(for: .milliseconds(20))
        }
        if self.isRunning { kill(self.pid, SIGKILL) }
    }

    private var isRunning: Bool {
        self.process.withLockedValue { $0.process.isRunning }
    }
}
