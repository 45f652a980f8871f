/// The answer to `GET /v1/apps/{app}/stats`.
struct StatsResponse: Encodable, Sendable {
    struct Messages: Encodable, Sendable {
        var accepted: Int
        var delivered: Int
    }

    var sessions: Int
    var users: Int
    var messages: Messages
}
