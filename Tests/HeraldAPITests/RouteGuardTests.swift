import Foundation
import HTTPTypes
import HeraldCore
import HeraldTesting
import Testing

@testable import HeraldAPI

/// Each group's guard, on every route of the group: a route added to a group is covered here
/// without a new test.
@Suite("API: route guards")
struct RouteGuardTests {
    static let otherSecret = "other-secret-0123456789abcdef"

    /// A request path for `template`: `{app}` is `app`, any other parameter a valid value.
    static func path(_ template: String, app: String = "demo") -> String {
        let segments = template.split(separator: "/").map { segment in
            guard segment.hasPrefix("{") else { return String(segment) }
            return segment == "{app}" ? app : "x"
        }
        return "/" + segments.joined(separator: "/")
    }

    /// Sends `method path` with `credential` as the whole `Authorization` header (none if nil),
    /// and a JSON object as the body of a POST.
    static func send(
        _ server: APIHarness,
        _ method: String,
        _ path: String,
        authorization credential: String?
    ) async throws -> APIHarness.Answer {
        try await server.request(
            method,
            path,
            body: method == "POST" ? Data("{}".utf8) : nil,
            headers: credential.map { ["Authorization": $0] } ?? [:]
        )
    }

    static func expectRefused(
        _ answer: APIHarness.Answer,
        _ what: String,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        expectError(answer, 401, "unauthorized", sourceLocation: sourceLocation)
        #expect(answer.headers["www-authenticate"] == "Bearer", "\(what)", sourceLocation: sourceLocation)
    }

    @Test func appRoutesRefuseAMissingOrWrongSecret() async throws {
        try await APIHarness.run { server in
            let created = try await server.post(
                "/v1/apps",
                json: ["id": "other", "secret": Self.otherSecret],
                bearer: APIHarness.adminKey
            )
            #expect(created.status == 201, "\(created.text)")
            let refused: [String?] = [
                nil,
                "Bearer",
                "Basic \(APIHarness.appSecret)",
                "Bearer wrong",
                "Bearer \(APIHarness.appSecret)x",
                "Bearer \(APIHarness.adminKey)",
                "Bearer \(Self.otherSecret)",
            ]
            for route in AppRoute.allCases {
                let path = Self.path(route.path)
                for credential in refused {
                    let answer = try await Self.send(server, route.method.rawValue, path, authorization: credential)
                    Self.expectRefused(answer, "\(route) with \(credential ?? "no credential")")
                }
                let passed = try await Self.send(
                    server, route.method.rawValue, path, authorization: "Bearer \(APIHarness.appSecret)")
                // Past the guard: anything but a refusal or a missing route (a signing key that
                // does not exist is a 404 of the route itself).
                let reachedRoute = passed.status != 404 || passed.text.contains("unknown_signing_key")
                #expect(![401, 405].contains(passed.status) && reachedRoute, "\(route): \(passed.text)")
            }
            // Only the accepted kick reached the gateway; the bodies of the others are invalid.
            #expect(server.delivery.calls == [.kick(app: "demo", user: "x", device: nil)])
        }
    }

    @Test func adminRoutesRefuseAMissingOrWrongKey() async throws {
        try await APIHarness.run { server in
            let refused: [String?] = [
                nil,
                "Bearer",
                "Basic \(APIHarness.adminKey)",
                "Bearer wrong",
                "Bearer \(APIHarness.adminKey)x",
                "Bearer \(APIHarness.appSecret)",
            ]
            for route in AdminRoute.allCases {
                for credential in refused {
                    let answer = try await Self.send(
                        server, route.method.rawValue, route.path, authorization: credential)
                    Self.expectRefused(answer, "\(route) with \(credential ?? "no credential")")
                }
                let passed = try await Self.send(
                    server, route.method.rawValue, route.path, authorization: "Bearer \(APIHarness.adminKey)")
                // Past the guard: anything but a refusal or a missing route (a signing key that
                // does not exist is a 404 of the route itself).
                let reachedRoute = passed.status != 404 || passed.text.contains("unknown_signing_key")
                #expect(![401, 405].contains(passed.status) && reachedRoute, "\(route): \(passed.text)")
            }
            #expect(try await server.catalog.list().map(\.id) == ["demo"])
        }
    }

    @Test func publicRoutesNeedNoCredential() async throws {
        try await APIHarness.run { server in
            for route in PublicRoute.allCases {
                let answer = try await Self.send(server, route.method.rawValue, route.path, authorization: nil)
                #expect(![401, 404, 405].contains(answer.status), "\(route): \(answer.text)")
            }
        }
    }

    @Test func everyRouteIsInOneGroup() {
        let routes = APIRoute.allCases
        #expect(routes.count == PublicRoute.allCases.count + AdminRoute.allCases.count + AppRoute.allCases.count)
        #expect(Set(routes.map { "\($0.method.rawValue) \($0.path)" }).count == routes.count)
        #expect(AppRoute.allCases.allSatisfy { $0.path.hasPrefix("/v1/apps/{app}/") })
    }
}
