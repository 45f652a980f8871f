import Foundation

/// A secret kept in a file (`--secret-file`, `--admin-key-file`), so that it stays out of
/// the command line that `ps` shows: the file's text without surrounding white space.
public enum SecretFile {
    /// The secret in `path`; `what` names it in errors ("the app secret").
    public static func read(_ path: String, what: String) throws -> String {
        guard FileManager.default.fileExists(atPath: path) else {
            throw CLIError("the file \(path) for \(what) does not exist")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw CLIError("cannot read \(what) from \(path)")
        }
        let secret = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard !secret.isEmpty else { throw CLIError("the file \(path) for \(what) is empty") }
        return secret
    }
}
