import HeraldCommandLine

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

import Foundation

/// The data directory of `herald serve` and the secrets in it: created for the owner alone,
/// and refused when other users could read them.
enum DataDirectory {
    /// Creates `path` with mode 0700 when it is missing (its parents with the usual mode),
    /// and each of `files` in it, empty, with mode 0600.
    static func prepare(_ path: String, files: [String]) throws {
        if !FileManager.default.fileExists(atPath: path) {
            let parent = URL(fileURLWithPath: path).deletingLastPathComponent().path
            if !parent.isEmpty, !FileManager.default.fileExists(atPath: parent) {
                do {
                    try FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true)
                } catch {
                    throw CLIError("cannot create \(parent): \(error.localizedDescription)")
                }
            }
            guard mkdir(path, 0o700) == 0 || errno == EEXIST else {
                throw CLIError("cannot create the data directory \(path): \(Self.lastError())")
            }
        }
        for file in files {
            _ = try Self.createPrivateFile(Self.path(file, in: path), contents: [])
        }
    }

    /// Creates `path` with mode 0600 and writes `contents`, all in one `open(O_CREAT | O_EXCL)`;
    /// false when the file exists already (it is left as it is).
    static func createPrivateFile(_ path: String, contents: [UInt8]) throws -> Bool {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            if errno == EEXIST { return false }
            throw CLIError("cannot create \(path): \(Self.lastError())")
        }
        defer { close(descriptor) }
        var written = 0
        while written < contents.count {
            let count = contents[written...].withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
            guard count > 0 else { throw CLIError("cannot write \(path): \(Self.lastError())") }
            written += count
        }
        guard fsync(descriptor) == 0 else { throw CLIError("cannot write \(path): \(Self.lastError())") }
        return true
    }

    /// Refuses the directory, or any of `files` in it that exists, when users other than its
    /// owner have any permission on it.
    static func checkPrivate(_ path: String, files: [String]) throws {
        try Self.checkPrivate(path, kind: "data directory", fix: "chmod 700")
        for file in files {
            try Self.checkPrivate(Self.path(file, in: path), kind: "file", fix: "chmod 600")
        }
    }

    static func path(_ file: String, in directory: String) -> String {
        directory.hasSuffix("/") ? directory + file : directory + "/" + file
    }

    private static func checkPrivate(_ path: String, kind: String, fix: String) throws {
        var status = stat()
        guard stat(path, &status) == 0 else {
            if errno == ENOENT { return }
            throw CLIError("cannot inspect \(path): \(Self.lastError())")
        }
        let mode = status.st_mode & 0o777
        guard mode & 0o077 == 0 else {
            let octal = String(mode, radix: 8)
            throw CLIError(
                "the \(kind) \(path) is open to other users (mode \(octal)) and holds secrets; "
                    + "make it private with `\(fix) \(path)` and start again"
            )
        }
    }

    private static func lastError() -> String {
        String(cString: strerror(errno))
    }
}
