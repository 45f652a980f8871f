import HeraldCommandLine
import HeraldCore

import Foundation

/// The admin key: from `HERALD_ADMIN_KEY`, else the one kept in the data directory,
/// else a new one, written there with owner-only permissions and shown once.
enum AdminKey {
    static let fileName = "admin.key"

    /// The key to use, and whether it was generated just now.
    static func loadOrCreate(dataDirectory: String) throws -> (key: String, generated: Bool) {
        if let key = Environment.string("HERALD_ADMIN_KEY") { return (key, false) }
        let path = dataDirectory + "/" + Self.fileName
        if let key = try Self.read(path: path) { return (key, false) }
        let key = SecretGenerator.make()
        guard FileManager.default.createFile(atPath: path, contents: Data((key + "\n").utf8), attributes: [.posixPermissions: 0o600])
        else {
            throw CLIError("cannot write the admin key to \(path)")
        }
        return (key, true)
    }

    /// The key a local command can use without being told it: the environment, else the data directory's.
    static func forLocalCommand(dataDirectory: String) throws -> String? {
        if let key = Environment.string("HERALD_ADMIN_KEY") { return key }
        return try Self.read(path: dataDirectory + "/" + Self.fileName)
    }

    private static func read(path: String) throws -> String? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw CLIError("cannot read the admin key at \(path)")
        }
        let key = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard !key.isEmpty else { throw CLIError("the admin key file \(path) is empty") }
        return key
    }
}
