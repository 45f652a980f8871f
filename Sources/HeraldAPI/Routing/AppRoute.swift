import HTTPTypes

/// The routes of one app, under ``prefix``: they need the app's secret
/// (`Authorization: Bearer <app secret>`), which ``AppSecretMiddleware`` checks for the whole
/// group before handing the app to the route.
enum AppRoute: CaseIterable, Sendable {
    case createToken
    case sendMessages
    case sendBatch
    case broadcast
    case publishTopic
    case userStatus
    case kickSessions
    case appStats
    case deadLetters
    case addSigningKey
    case listSigningKeys
    case retireSigningKey

    /// The group's path; `{app}` names the app.
    static let prefix = "/v1/apps/{app}"

    var method: HTTPRequest.Method {
        switch self {
        case .createToken, .sendMessages, .sendBatch, .broadcast, .publishTopic, .addSigningKey: .post
        case .kickSessions, .retireSigningKey: .delete
        case .userStatus, .appStats, .deadLetters, .listSigningKeys: .get
        }
    }

    /// The path template under ``prefix``.
    var subpath: String {
        switch self {
        case .createToken: "/tokens"
        case .sendMessages: "/messages"
        case .sendBatch: "/messages/batch"
        case .broadcast: "/broadcasts"
        case .publishTopic: "/topics/{topic}/messages"
        case .userStatus: "/users/{user}"
        case .kickSessions: "/users/{user}/sessions"
        case .appStats: "/stats"
        case .deadLetters: "/dead-letters"
        case .addSigningKey, .listSigningKeys: "/signing-keys"
        case .retireSigningKey: "/signing-keys/{kid}"
        }
    }

    /// The whole path template, in OpenAPI's `{parameter}` syntax.
    var path: String { Self.prefix + self.subpath }
}
