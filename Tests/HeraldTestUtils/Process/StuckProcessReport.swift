import Foundation
import HeraldChildProcess

/// What a process that would not stop was doing, for the failure message: each thread's
/// state and kernel wait channel from `/proc` (a thread in `D` state waits for the disk, one
/// in `futex_wait` for a lock), and its backtraces from gdb when gdb is installed.
enum StuckProcessReport {
    static func describe(pid: Int32) -> String {
        var lines = ["--- threads of pid \(pid): state and kernel wait channel ---"]
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? []
        for task in tasks.sorted(by: { (Int($0) ?? 0) < (Int($1) ?? 0) }) {
            let base = "/proc/\(pid)/task/\(task)"
            let name = Self.read(base + "/comm") ?? "?"
            let wait = Self.read(base + "/wchan") ?? "?"
            lines.append("\(task) \(name) state \(Self.state(of: base) ?? "?") waiting in \(wait.isEmpty ? "-" : wait)")
        }
        if let backtraces = Self.backtraces(pid: pid) {
            lines.append("--- gdb backtraces ---")
            lines.append(backtraces)
        }
        return lines.joined(separator: "\n")
    }

    private static func read(_ path: String) -> String? {
        (try? String(contentsOfFile: path, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// The state letter of `/proc/…/stat`, which follows the parenthesised command name.
    private static func state(of task: String) -> String? {
        guard let stat = Self.read(task + "/stat"), let close = stat.lastIndex(of: ")") else { return nil }
        return stat[stat.index(after: close)...].split(separator: " ").first.map(String.init)
    }

    /// Frames only (gdb's thread headers and `#n` lines, cut to 160 characters), at most 10 s
    /// of gdb, then 2 more before it is killed (attached to a stopped process it may not heed
    /// SIGTERM). It blocks its thread: callers run it with `BlockingWork`.
    ///
    /// gdb writes to a file, not a pipe: a child another test starts at the same moment can
    /// inherit a pipe's write end, and reading to its end would then never finish.
    private static func backtraces(pid: Int32) -> String? {
        let gdb = ["/usr/bin/gdb", "/bin/gdb"].first { FileManager.default.isExecutableFile(atPath: $0) }
        guard let gdb else { return nil }
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("herald-gdb-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: output) }
        let arguments = [
            "/usr/bin/timeout", "--kill-after=2", "10", gdb, "-p", "\(pid)", "-batch", "-nx",
            "-ex", "set print frame-arguments none", "-ex", "set print address off", "-ex", "thread apply all bt 16",
        ]
        guard (try? ChildSpawn.run(arguments, output: output.path, errorOutput: "/dev/null")) != nil else { return nil }
        guard let text = try? String(contentsOf: output, encoding: .utf8) else { return nil }
        let frames = text.split(separator: "\n")
            .filter { $0.hasPrefix("Thread ") || $0.hasPrefix("#") }
            .map { $0.prefix(160) }
        return frames.isEmpty ? nil : frames.joined(separator: "\n")
    }
}
