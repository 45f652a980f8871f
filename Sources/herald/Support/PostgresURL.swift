import HeraldCommandLine

import Foundation

/// The PostgreSQL URL of `--store` with its password read from a file, so the password
/// stays out of the command line: `--postgres-password-file PATH`, or the URL's own
/// `password_file=PATH` query parameter.
enum PostgresURL {
    static let passwordFileParameter = "password_file"

    /// `url` with the password from `passwordFile` (or its `password_file` parameter) filled
    /// in and that parameter removed; `url` itself when neither names a file.
    static func resolve(_ url: String, passwordFile: String?) throws -> String {
        guard var components = URLComponents(string: url) else { return url }
        var items = components.queryItems ?? []
        let fromURL = items.first { $0.name == Self.passwordFileParameter }?.value
        items.removeAll { $0.name == Self.passwordFileParameter }
        guard let file = passwordFile ?? fromURL else { return url }
        if passwordFile != nil, fromURL != nil {
            throw CLIError("give the PostgreSQL password file once: --postgres-password-file or password_file in --store")
        }
        guard components.password == nil else {
            throw CLIError("the --store URL has a password and a password file; give only one")
        }
        guard let data = FileManager.default.contents(atPath: file) else {
            throw CLIError("cannot read the PostgreSQL password file \(file)")
        }
        // A password file ends with a newline, which is not part of the password.
        var password = String(decoding: data, as: UTF8.self)
        while password.hasSuffix("\n") || password.hasSuffix("\r") { password.removeLast() }
        guard !password.isEmpty else { throw CLIError("the PostgreSQL password file \(file) is empty") }
        components.password = password
        components.queryItems = items.isEmpty ? nil : items
        guard let resolved = components.string else { throw CLIError("cannot use the password from \(file) in the --store URL") }
        return resolved
    }
}
