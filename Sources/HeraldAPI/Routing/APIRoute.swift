import HTTPTypes

/// Every route of the API, in one place: the router registers exactly these, and a test
/// checks `openapi.yaml` against them in both directions.
enum APIRoute: CaseIterable, Sendable {
    case createApp
    case listApps
    case createToken
    case sendMessages
    case sendBatch
    case broadcast
    case publishTopic
    case userStatus
    case kickSessions
    case appStats
    case deadLetters
    case dispatch
    case nodeStats
    case health
    case readiness
    case metrics
    case openAPI

    var method: HTTPRequest.Method {
        switch self {
        case .createApp, .createToken, .sendMessages, .sendBatch, .broadcast, .publishTopic: .post
        case .kickSessions: .delete
        case .listApps, .userStatus, .appStats, .deadLetters, .dispatch, .nodeStats, .health, .readiness, .metrics,
            .openAPI:
            .get
        }
    }

    /// The path template, in OpenAPI's `{parameter}` syntax (which Hummingbird's router also reads).
    var path: String {
        switch self {
        case .createApp, .listApps: "/v1/apps"
        case .createToken: "/v1/apps/{app}/tokens"
        case .sendMessages: "/v1/apps/{app}/messages"
        case .sendBatch: "/v1/apps/{app}/messages/batch"
        case .broadcast: "/v1/apps/{app}/broadcasts"
        case .publishTopic: "/v1/apps/{app}/topics/{topic}/messages"
        case .userStatus: "/v1/apps/{app}/users/{user}"
        case .kickSessions: "/v1/apps/{app}/users/{user}/sessions"
        case .appStats: "/v1/apps/{app}/stats"
        case .deadLetters: "/v1/apps/{app}/dead-letters"
        case .dispatch: "/v1/dispatch"
        case .nodeStats: "/v1/stats"
        case .health: "/healthz"
        case .readiness: "/readyz"
        case .metrics: "/metrics"
        case .openAPI: "/openapi.yaml"
        }
    }

    /// The methods routed for a concrete request path, for 405 answers.
    static func methods(matching path: String) -> [HTTPRequest.Method] {
        let segments = Self.segments(of: path)
        var methods: [HTTPRequest.Method] = []
        for route in Self.allCases where Self.matches(template: Self.segments(of: route.path), segments) {
            if !methods.contains(route.method) { methods.append(route.method) }
        }
        return methods
    }

    private static func segments(of path: String) -> [Substring] {
        path.split(separator: "/", omittingEmptySubsequences: true)
    }

    private static func matches(template: [Substring], _ segments: [Substring]) -> Bool {
        guard template.count == segments.count else { return false }
        return zip(template, segments).allSatisfy { pattern, segment in
            pattern.hasPrefix("{") || pattern == segment
        }
    }
}
