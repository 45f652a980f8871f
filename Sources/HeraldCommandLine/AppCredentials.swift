import ArgumentParser

/// An app's id and secret, for the commands that act as the app's backend.
public struct AppCredentials: ParsableArguments {
    @Option(help: "App id [HERALD_APP].")
    public var app: String?

    @Option(help: "App secret [HERALD_SECRET].")
    public var secret: String?

    public init() {}

    /// The id and secret from the flags, else from `HERALD_APP` and `HERALD_SECRET`.
    public func resolved() throws -> (app: String, secret: String) {
        guard let app = self.app ?? Environment.string("HERALD_APP") else {
            throw CLIError("give the app with --app or HERALD_APP")
        }
        guard let secret = self.secret ?? Environment.string("HERALD_SECRET") else {
            throw CLIError("give the app secret with --secret or HERALD_SECRET")
        }
        return (app, secret)
    }
}
