import HeraldCommandLine
import HeraldCore

import Foundation

/// The admin key: from `--admin-key-file`, else `HERALD_ADMIN_KEY`, else the one kept in the
/// data directory, else a new one, written there with owner-only permissions.
enum AdminKey {
    static let fileName = "admin.key"
    /// The shortest admin key accepted: a shorter one is too easy to guess.
    static let minimumLength = 32

    /// The key to use, and whether it was generated just now.
    static func loadOrCreate(dataDirectory: String, keyFile: String? = nil) throws -> (key: String, generated: Bool) {
        if let keyFile {
            guard let key = try Self.read(path: keyFile) else { throw CLIError("the admin key file \(keyFile) does not exist") }
            return (try Self.validate(key, source: keyFile), false)
        }
        if let key = Environment.string("HERALD_ADMIN_KEY") {
            return (try Self.validate(key, source: "HERALD_ADMIN_KEY"), false)
        }
        let path = DataDirectory.path(Self.fileName, in: dataDirectory)
        if let key = try Self.read(path: path) { return (try Self.validate(key, source: path), false) }
        let key = SecretGenerator.make()
        guard try DataDirectory.createPrivateFile(path, contents: Array((key + "\n").utf8)) else {
            // Another process wrote it between the read and the create: use theirs.
            guard let key = try Self.read(path: path) else { throw CLIError("cannot read the admin key at \(path)") }
            return (try Self.validate(key, source: path), false)
        }
        return (key, true)
    }

    /// The key a local command can use without being told it: the environment, else the data directory's.
    static func forLocalCommand(dataDirectory: String) throws -> String? {
        if let key = Environment.string("HERALD_ADMIN_KEY") { return try Self.validate(key, source: "HERALD_ADMIN_KEY") }
        return try Self.read(path: DataDirectory.path(Self.fileName, in: dataDirectory))
    }

    /// `key`, if it is long enough to be an admin key.
    static func validate(_ key: String, source: String) throws -> String {
        guard key.count >= Self.minimumLength else {
            throw CLIError(
                "the admin key from \(source) has \(key.count) characters; it needs at least \(Self.minimumLength)"
                    + " (leave it unset and herald serve generates one)"
            )
        }
        return key
    }

    private static func read(path: String) throws -> String? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        return try SecretFile.read(path, what: "the admin key")
    }
}
