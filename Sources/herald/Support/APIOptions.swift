import ArgumentParser

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Where the HTTP API is, shared by the commands that call it.
struct APIOptions: ParsableArguments {
    @Option(name: .customLong("api"), help: "Base URL of the HTTP API [HERALD_API, default http://127.0.0.1:8080].")
    var apiURL: String?

    var baseURL: String {
        (self.apiURL ?? Environment.string("HERALD_API") ?? "http://127.0.0.1:8080")
            .trimmingSuffix("/")
    }
}

/// An app's id and secret, for the commands that act as the app's backend.
struct AppCredentials: ParsableArguments {
    @Option(help: "App id [HERALD_APP].")
    var app: String?

    @Option(help: "App secret [HERALD_SECRET].")
    var secret: String?

    func resolved() throws -> (app: String, secret: String) {
        guard let app = self.app ?? Environment.string("HERALD_APP") else {
            throw CLIError("give the app with --app or HERALD_APP")
        }
        guard let secret = self.secret ?? Environment.string("HERALD_SECRET") else {
            throw CLIError("give the app secret with --secret or HERALD_SECRET")
        }
        return (app, secret)
    }
}

extension String {
    func trimmingSuffix(_ suffix: String) -> String {
        var result = self
        while result.hasSuffix(suffix) { result.removeLast(suffix.count) }
        return result
    }
}
