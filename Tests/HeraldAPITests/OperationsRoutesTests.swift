import Foundation
import HTTPTypes
import HeraldCore
import HeraldTesting
import NIOConcurrencyHelpers
import Testing

@testable import HeraldAPI

@Suite("API: users, stats, dispatch and operations")
struct OperationsRoutesTests {
    @Test func userStatusAndKick() async throws {
        try await APIHarness.run { server in
            let offline = try await server.get("/v1/apps/demo/users/alice")
            #expect(offline.status == 200, "\(offline.text)")
            #expect(offline.json?["online"] as? Bool == false)
            #expect(offline.json?["inboxSeq"] as? Int == 0)

            let since = Date(timeIntervalSince1970: 1_700_000_000)
            server.directory.register(
                SessionInfo(
                    app: "demo", user: "a lice", device: "phone",
                    id: SessionID(node: "node-a", connection: 1, number: 1, generation: 1), since: since)
            )
            let online = try await server.get("/v1/apps/demo/users/a%20lice")
            #expect(online.json?["online"] as? Bool == true)
            let sessions = try #require(online.json?["sessions"] as? [[String: Any]])
            #expect(sessions.first?["device"] as? String == "phone")
            #expect(sessions.first?["node"] as? String == "node-a")
            #expect(sessions.first?["since"] as? String == "2023-11-14T22:13:20Z")

            let kicked = try await server.request(
                "DELETE",
                "/v1/apps/demo/users/alice/sessions?device=phone",
                bearer: APIHarness.appSecret
            )
            #expect(kicked.status == 200, "\(kicked.text)")
            #expect(kicked.json?["kicked"] as? Int == 2)
            let all = try await server.request(
                "DELETE",
                "/v1/apps/demo/users/bob/sessions",
                bearer: APIHarness.appSecret
            )
            #expect(all.json?["kicked"] as? Int == 2)
            #expect(
                server.delivery.calls == [
                    .kick(app: "demo", user: "alice", device: "phone"), .kick(app: "demo", user: "bob", device: nil),
                ]
            )
            expectError(try await server.request("DELETE", "/v1/apps/demo/users/bob/sessions"), 401)
            expectError(try await server.get("/v1/apps/ghost/users/bob"), 401, "unauthorized")
            expectError(try await server.get("/v1/apps/demo/users/\(String(repeating: "u", count: 300))"), 400)
        }
    }

    @Test func statsCountSessionsAndMessages() async throws {
        try await APIHarness.run { server in
            server.directory.register(SessionInfo(app: "demo", user: "a", device: "d1", id: SessionID(node: "n", connection: 1, number: 1, generation: 1), since: Date()))
            server.directory.register(SessionInfo(app: "demo", user: "a", device: "d2", id: SessionID(node: "n", connection: 2, number: 1, generation: 2), since: Date()))
            server.directory.register(SessionInfo(app: "demo", user: "b", device: "d1", id: SessionID(node: "n", connection: 3, number: 1, generation: 3), since: Date()))
            _ = try await server.post("/v1/apps/demo/messages", json: ["users": ["a", "b"], "payload": "x"])
            _ = try await server.post("/v1/apps/demo/broadcasts", json: ["payload": "x"])
            let stats = try await server.get("/v1/apps/demo/stats")
            #expect(stats.status == 200, "\(stats.text)")
            #expect(stats.json?["sessions"] as? Int == 3)
            #expect(stats.json?["users"] as? Int == 2)
            let messages = try #require(stats.json?["messages"] as? [String: Any])
            #expect(messages["accepted"] as? Int == 2)
            #expect(messages["delivered"] as? Int == 6)
            expectError(try await server.get("/v1/apps/demo/stats", bearer: nil), 401)
        }
    }

    @Test func dispatch() async throws {
        try await APIHarness.run { server in
            let answer = try await server.get("/v1/dispatch?app=demo&user=alice", bearer: nil)
            #expect(answer.status == 200, "\(answer.text)")
            let endpoints = try #require(answer.json?["endpoints"] as? [[String: Any]])
            #expect(endpoints.first?["node"] as? String == "node-a")
            #expect(endpoints.first?["tcp"] as? String == "127.0.0.1:7070")
            #expect(endpoints.first?["ws"] as? String == "ws://127.0.0.1:7071/ws")
            let reconnect = try #require(answer.json?["reconnect"] as? [String: Any])
            #expect(reconnect["baseMs"] as? Int == 250)
            #expect(reconnect["maxMs"] as? Int == 10_000)
            #expect(reconnect["jitter"] as? Double == 0.5)
            // Anyone may ask, so an app that does not exist gets the same answer as one that
            // does: app ids cannot be probed here (a token is what a client needs anyway).
            let ghost = try await server.get("/v1/dispatch?app=ghost&user=alice", bearer: nil)
            #expect(ghost.status == 200)
            #expect(ghost.text == answer.text, "an unknown app is answered differently")
            expectError(try await server.get("/v1/dispatch?app=not%20an%20id", bearer: nil), 400, "invalid_app")
            expectError(try await server.get("/v1/dispatch", bearer: nil), 400)
        }
    }

    @Test func healthReadinessAndMetrics() async throws {
        try await APIHarness.run { server in
            let health = try await server.get("/healthz", bearer: nil)
            #expect(health.status == 200)
            #expect(health.json?["status"] as? String == "ok")
            #expect(try await server.get("/readyz", bearer: nil).status == 200)
            server.ready.withLockedValue { $0 = false }
            expectError(try await server.get("/readyz", bearer: nil), 503, "not_ready")
            #expect(try await server.get("/healthz", bearer: nil).status == 200)

            _ = try await server.post("/v1/apps/demo/messages", json: ["users": ["a"], "payload": "x"])
            // Per-app series are for the admin key only.
            let metrics = try await server.get("/metrics", bearer: APIHarness.adminKey)
            #expect(metrics.status == 200)
            #expect(metrics.headers["content-type"]?.hasPrefix("text/plain") == true)
            #expect(metrics.text.contains("herald_api_requests_total{"))
            #expect(metrics.text.contains(#"route="/v1/apps/{app}/messages""#))
            #expect(metrics.text.contains(#"herald_messages_accepted_total{app="demo",kind="user"} 1"#))
            #expect(metrics.text.contains(#"herald_deliveries_total{app="demo",kind="user"} 2"#))
        }
    }

    @Test func unknownRoutesAndMethodsAreJSON() async throws {
        try await APIHarness.run { server in
            expectError(try await server.get("/nope", bearer: nil), 404, "not_found")
            expectError(try await server.get("/v1/apps/demo/unknown"), 404, "not_found")
            let wrongMethod = try await server.request("PUT", "/v1/apps/demo/messages", body: Data("{}".utf8))
            expectError(wrongMethod, 405, "method_not_allowed")
            #expect(wrongMethod.headers["allow"] == "POST")
            expectError(try await server.request("DELETE", "/healthz"), 405)
        }
    }

    @Test func openAPIDocumentMatchesTheRoutes() async throws {
        try await APIHarness.run { server in
            let answer = try await server.get("/openapi.yaml", bearer: nil)
            #expect(answer.status == 200)
            #expect(answer.text.hasPrefix("openapi: 3.1"))
            let documented = Self.operations(inYAML: answer.text)
            let routed = Set(APIRoute.allCases.map { "\($0.method.rawValue) \($0.path)" })
            #expect(documented.count > 10)
            #expect(
                documented.subtracting(routed).isEmpty,
                "documented but not routed: \(documented.subtracting(routed))"
            )
            #expect(
                routed.subtracting(documented).isEmpty,
                "routed but not documented: \(routed.subtracting(documented))"
            )
        }
    }

    /// `METHOD /path` for each operation under `paths:`: path keys at two spaces, methods at four.
    static func operations(inYAML text: String) -> Set<String> {
        let methods: Set<String> = ["get", "put", "post", "delete", "patch", "head", "options", "trace"]
        var operations = Set<String>()
        var inPaths = false
        var path: String?
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if !line.hasPrefix(" ") && !line.isEmpty {
                inPaths = line == "paths:"
                path = nil
                continue
            }
            guard inPaths else { continue }
            if line.hasPrefix("  /"), !line.hasPrefix("   "), line.hasSuffix(":") {
                path = String(line.dropFirst(2).dropLast())
            } else if line.hasPrefix("    "), !line.hasPrefix("     "), let path {
                let key = line.dropFirst(4).prefix { $0 != ":" }
                if methods.contains(String(key)) { operations.insert("\(key.uppercased()) \(path)") }
            }
        }
        return operations
    }
}
