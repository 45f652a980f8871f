import HeraldCommandLine

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// An exclusive `flock` on the data directory's lock file, held for the life of the process:
/// a second `herald serve` on the same directory stops at start instead of keeping its own
/// in-memory view of a database another process writes. The kernel releases the lock when
/// the process ends, however it ends.
final class DataDirectoryLock {
    static let fileName = "herald.lock"

    private let descriptor: Int32

    /// Takes the lock, or throws a sentence naming the directory when another process has it.
    init(directory: String) throws {
        let path = DataDirectory.path(Self.fileName, in: directory)
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw CLIError("cannot open the lock file \(path): \(String(cString: strerror(errno)))")
        }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            let reason = errno
            close(descriptor)
            if reason == EWOULDBLOCK {
                throw CLIError(
                    "another herald serve is using the data directory \(directory); stop it first, "
                        + "or give this one its own directory with --data-dir"
                )
            }
            throw CLIError("cannot lock the data directory \(directory): \(String(cString: strerror(reason)))")
        }
        self.descriptor = descriptor
    }

    /// Gives the lock up (the process is about to end).
    func release() {
        close(self.descriptor)
    }
}
