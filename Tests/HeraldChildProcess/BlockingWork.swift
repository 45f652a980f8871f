import Foundation

/// Work that blocks its thread (waiting for a child process, mostly), run on a thread of its
/// own. Swift concurrency has one cooperative thread per core, shared by every test in the
/// process: two tests that each wait there for a slow program (gdb, `redis-cli --cluster
/// create`) stall all the others, whose deadlines then pass for nothing they did.
public enum BlockingWork {
    /// Runs `body` on a new thread and returns what it returns.
    public static func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            Thread {
                continuation.resume(with: Result { try body() })
            }.start()
        }
    }

    /// Runs `body` on a new thread and returns what it returns.
    public static func run<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            Thread {
                continuation.resume(returning: body())
            }.start()
        }
    }
}
