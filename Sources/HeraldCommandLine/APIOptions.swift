import ArgumentParser

/// Where the HTTP API is, shared by the commands that call it.
public struct APIOptions: ParsableArguments {
    @Option(name: .customLong("api"), help: "Base URL of the HTTP API, http:// or https:// [HERALD_API, default http://127.0.0.1:8080].")
    public var apiURL: String?

    public init() {}

    /// The API's base URL without a trailing slash.
    public var baseURL: String {
        (self.apiURL ?? Environment.string("HERALD_API") ?? "http://127.0.0.1:8080")
            .trimmingSuffix("/")
    }
}
