import HTTPTypes

/// The routes that need the admin key (`Authorization: Bearer <admin key>`), which
/// ``AdminKeyMiddleware`` checks for the whole group.
enum AdminRoute: CaseIterable, Sendable {
    case createApp
    case listApps
    case nodeStats

    var method: HTTPRequest.Method {
        switch self {
        case .createApp: .post
        case .listApps, .nodeStats: .get
        }
    }

    /// The path template, in OpenAPI's `{parameter}` syntax (which Hummingbird's router also reads).
    var path: String {
        switch self {
        case .createApp, .listApps: "/v1/apps"
        case .nodeStats: "/v1/stats"
        }
    }
}
