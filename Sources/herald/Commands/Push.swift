import ArgumentParser
import HeraldCommandLine

/// `herald push`: send a message to users through the HTTP API.
struct Push: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Push a message to one or more users.")

    @OptionGroup var api: APIOptions
    @OptionGroup var tls: CAFileOption
    @OptionGroup var credentials: AppCredentials

    @Option(name: .customLong("user"), help: "A user to push to (repeatable).")
    var users: [String]

    @Option(help: "0: to online sessions only; 1: stored until acknowledged.")
    var qos: Int = 0

    @Option(help: "QoS 1: seconds the message is kept for its user (default: the app's policy).")
    var ttl: Int?

    @Option(name: .customLong("collapse-key"), help: "QoS 1: replaces the user's unacknowledged message with this key.")
    var collapseKey: String?

    @Option(name: .customLong("idempotency-key"), help: "QoS 1: a retry with the same key stores nothing new.")
    var idempotencyKey: String?

    @Argument(help: "The payload, as UTF-8 text.")
    var payload: String

    func validate() throws {
        if self.users.isEmpty { throw ValidationError("give at least one --user") }
    }

    func run() async throws {
        let (app, secret) = try self.credentials.resolved()
        let client = HTTPClient(baseURL: self.api.baseURL, bearer: secret, caFile: self.tls.path)
        var body: [String: Any] = ["users": self.users, "payload": self.payload, "qos": self.qos]
        if let ttl { body["ttl"] = ttl }
        if let collapseKey { body["collapseKey"] = collapseKey }
        let json = try await client.call(
            "POST",
            "/v1/apps/\(app)/messages",
            body: body,
            headers: self.idempotencyKey.map { ["Idempotency-Key": $0] } ?? [:]
        )
        print(HTTPClient.render(json))
    }
}
