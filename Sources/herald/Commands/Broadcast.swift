import ArgumentParser
import Foundation
import HeraldCommandLine

/// `herald broadcast`: send a message to every online session of an app, or to a topic.
struct Broadcast: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Broadcast a message to every online session of an app, or publish it to a topic."
    )

    @OptionGroup var api: APIOptions
    @OptionGroup var tls: CAFileOption
    @OptionGroup var credentials: AppCredentials

    @Option(help: "Publish to the sessions subscribed to this topic instead of the whole app.")
    var topic: String?

    @Argument(help: "The payload, as UTF-8 text.")
    var payload: String

    func run() async throws {
        let (app, secret) = try self.credentials.resolved()
        let client = HTTPClient(baseURL: self.api.baseURL, bearer: secret, caFile: self.tls.path)
        let path: String
        if let topic {
            guard let escaped = topic.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(.init(charactersIn: "/"))) else {
                throw CLIError("bad topic \(topic)")
            }
            path = "/v1/apps/\(app)/topics/\(escaped)/messages"
        } else {
            path = "/v1/apps/\(app)/broadcasts"
        }
        let json = try await client.call("POST", path, body: ["payload": self.payload])
        print(HTTPClient.render(json))
    }
}
