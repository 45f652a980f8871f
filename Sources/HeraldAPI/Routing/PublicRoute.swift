import HTTPTypes

/// The routes anyone may call: probes, metrics, the OpenAPI document, and dispatch (clients
/// ask where to connect before they hold a token).
enum PublicRoute: CaseIterable, Sendable {
    case dispatch
    case health
    case readiness
    case metrics
    case openAPI

    var method: HTTPRequest.Method { .get }

    /// The path template, in OpenAPI's `{parameter}` syntax (which Hummingbird's router also reads).
    var path: String {
        switch self {
        case .dispatch: "/v1/dispatch"
        case .health: "/healthz"
        case .readiness: "/readyz"
        case .metrics: "/metrics"
        case .openAPI: "/openapi.yaml"
        }
    }
}
