import ArgumentParser

/// An app's id and secret, for the commands that act as the app's backend.
public struct AppCredentials: ParsableArguments {
    @Option(help: "App id [HERALD_APP].")
    public var app: String?

    @Option(help: "App secret [HERALD_SECRET]; --secret-file keeps it out of the command line.")
    public var secret: String?

    @Option(name: .customLong("secret-file"), help: "File holding the app secret [HERALD_SECRET_FILE].")
    public var secretFile: String?

    public init() {}

    /// The id and secret from the flags, else from `HERALD_APP` and `HERALD_SECRET` (or
    /// `HERALD_SECRET_FILE`).
    public func resolved() throws -> (app: String, secret: String) {
        guard let app = self.app ?? Environment.string("HERALD_APP") else {
            throw CLIError("give the app with --app or HERALD_APP")
        }
        if self.secret != nil, self.secretFile != nil {
            throw CLIError("give the app secret with --secret or --secret-file, not both")
        }
        if let secret = self.secret { return (app, secret) }
        if let path = self.secretFile ?? Environment.string("HERALD_SECRET_FILE") {
            return (app, try SecretFile.read(path, what: "the app secret"))
        }
        guard let secret = Environment.string("HERALD_SECRET") else {
            throw CLIError("give the app secret with --secret, --secret-file, HERALD_SECRET or HERALD_SECRET_FILE")
        }
        return (app, secret)
    }
}
