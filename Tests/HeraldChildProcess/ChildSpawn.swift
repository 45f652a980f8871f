import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Runs a program to its end with `posix_spawn` and `waitpid`, handing it no descriptor but
/// stdin (/dev/null), stdout and stderr: the tests' blocking runs (`pg_ctl start`, a
/// restarted `redis-server`, `redis-cli --cluster create`, the `herald` command line, gdb).
///
/// Not with Foundation's `Process`. A `Process` remembers the run loop of the thread that
/// started it, for its exit monitor to stop; started on a short-lived thread of its own, that
/// run loop may be gone when the exit comes (a full run crashed inside `Process.run` once gdb
/// was run that way). And `Process` learns of a child's exit when a socket the child
/// inherits is closed; between creating that socket and closing its own copy, every program
/// spawned meanwhile by another thread inherits it too, unless the spawn closes what it does
/// not need. A server left running with another test's copy keeps that test's
/// child "running" for Foundation long after it died, and its wait never ends: that was the
/// test suite's hang.
public enum ChildSpawn {
    /// The program could not be started.
    public struct Failed: Error, CustomStringConvertible {
        public var command: String
        public var status: Int32
        public var description: String { "\(self.command) could not be started (posix_spawn returned \(self.status))." }
    }

    /// Spawns `arguments[0]` (a path) with `arguments` and `environment` added to this
    /// process's, its stdout to `output` and its stderr to `errorOutput` (each /dev/null when
    /// nil; stderr goes with stdout when only `output` is given), waits for it, and returns
    /// its exit status (the signal's number, negated, if a signal ended it). It blocks: run it
    /// with ``BlockingWork``.
    public static func run(
        _ arguments: [String], environment: [String: String] = [:], output: String? = nil, errorOutput: String? = nil
    ) throws -> Int32 {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, output ?? "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        if let errorOutput {
            posix_spawn_file_actions_addopen(&actions, 2, errorOutput, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        } else {
            posix_spawn_file_actions_adddup2(&actions, 1, 2)
        }
        Self.closeInheritedDescriptors(&actions)
        let cArguments: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { cArguments.forEach { free($0) } }
        let variables = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let cEnvironment: [UnsafeMutablePointer<CChar>?] = variables.map { strdup("\($0)=\($1)") } + [nil]
        defer { cEnvironment.forEach { free($0) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, arguments[0], &actions, nil, cArguments, cEnvironment)
        guard spawned == 0 else { throw Failed(command: arguments.joined(separator: " "), status: spawned) }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 {
            guard errno == EINTR else { break }
        }
        // WIFEXITED and WEXITSTATUS, which Swift does not import.
        return (status & 0x7f) == 0 ? (status >> 8) & 0xff : -(status & 0x7f)
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
