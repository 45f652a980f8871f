import HTTPTypes

/// Every route of the API, by who may call it: the router registers exactly these, each
/// group behind its guard, and a test checks `openapi.yaml` against them in both directions.
enum APIRoute: CaseIterable, Hashable, Sendable {
    /// Anyone may call it.
    case open(PublicRoute)
    /// It needs the admin key.
    case admin(AdminRoute)
    /// It needs the secret of the app its path names.
    case app(AppRoute)

    static let allCases: [APIRoute] =
        AdminRoute.allCases.map(Self.admin) + AppRoute.allCases.map(Self.app) + PublicRoute.allCases.map(Self.open)

    var method: HTTPRequest.Method {
        switch self {
        case .open(let route): route.method
        case .admin(let route): route.method
        case .app(let route): route.method
        }
    }

    /// The path template, in OpenAPI's `{parameter}` syntax.
    var path: String {
        switch self {
        case .open(let route): route.path
        case .admin(let route): route.path
        case .app(let route): route.path
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
