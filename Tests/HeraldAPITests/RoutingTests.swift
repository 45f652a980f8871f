import Foundation
import HeraldCore
import Testing

/// How request paths find their route: what the router and the 405 answer agree on.
@Suite("API: routing")
struct RoutingTests {
    @Test func emptySegmentsAreIgnored() async throws {
        try await APIHarness.run { server in
            // Trailing and repeated slashes match the route without them, as in Hummingbird's trie.
            #expect(try await server.get("/healthz/", bearer: nil).status == 200)
            #expect(try await server.get("//healthz", bearer: nil).status == 200)
            #expect(try await server.get("/v1/apps/", bearer: APIHarness.adminKey).status == 200)
            #expect(try await server.get("/v1//apps/demo/stats/").status == 200)
            let sent = try await server.post("/v1/apps/demo/messages/", json: ["users": ["a"], "payload": "x"])
            #expect(sent.status == 200, "\(sent.text)")
            // The 405 check ignores them the same way.
            let wrongMethod = try await server.request("PUT", "/v1/apps/")
            expectError(wrongMethod, 405, "method_not_allowed")
            #expect(wrongMethod.headers["allow"] == "POST, GET")
        }
    }

    @Test func parametersArePercentDecodedAndLiteralsAreNot() async throws {
        try await APIHarness.run { server in
            // Parameters are decoded by the handlers; literal segments are matched as sent.
            #expect(try await server.get("/v1/apps/de%6Do/stats").status == 200)
            let slash = try await server.get("/v1/apps/demo/users/a%2Fb")
            #expect(slash.status == 200, "\(slash.text)")
            expectError(try await server.get("/v1/apps/de%zz/stats"), 400, "invalid_app")
            expectError(try await server.get("/v1/apps/demo/users/%FF"), 400, "invalid_user")
            expectError(try await server.get("/v1/%61pps", bearer: APIHarness.adminKey), 404, "not_found")
            expectError(try await server.get("/HEALTHZ", bearer: nil), 404, "not_found")
        }
    }

    @Test func wrongMethodsAre405WithAllow() async throws {
        try await APIHarness.run { server in
            let put = try await server.request("PUT", "/v1/apps/demo/messages", body: Data("{}".utf8))
            expectError(put, 405, "method_not_allowed")
            #expect(put.headers["allow"] == "POST")
            #expect(put.errorMessage == "PUT is not allowed here; use POST")
            // Matched before any guard: no credential still gets 405, not 401.
            expectError(try await server.request("GET", "/v1/apps/demo/messages/batch"), 405, "method_not_allowed")
            let apps = try await server.request("DELETE", "/v1/apps")
            #expect(apps.headers["allow"] == "POST, GET")
            let head = try await server.request("HEAD", "/healthz?verbose=1")
            #expect(head.status == 405)
            #expect(head.headers["allow"] == "GET")
            let kick = try await server.request("GET", "/v1/apps/demo/users/alice/sessions")
            #expect(kick.headers["allow"] == "DELETE")
            // A path no route has is 404, whatever the method.
            expectError(try await server.request("PUT", "/v1/apps/demo/users"), 404, "not_found")
            let notFound = try await server.get("/nope?x=1", bearer: nil)
            #expect(notFound.errorMessage == "no route for GET /nope")
        }
    }

    @Test func unmatchedRequestsShareOneMetricsLabel() async throws {
        try await APIHarness.run { server in
            _ = try await server.get("/nope", bearer: nil)
            _ = try await server.request("PUT", "/healthz")
            _ = try await server.get("/v1/apps/demo/stats/")
            let metrics = try await server.get("/metrics", bearer: nil).text
            #expect(metrics.contains(#"herald_api_requests_total{route="unmatched",method="GET",status="404"} 1"#))
            #expect(metrics.contains(#"herald_api_requests_total{route="unmatched",method="PUT",status="405"} 1"#))
            #expect(
                metrics.contains(
                    #"herald_api_requests_total{route="/v1/apps/{app}/stats",method="GET",status="200"} 1"#),
                "\(metrics)"
            )
        }
    }
}
