import Foundation
import HeraldAPI
import HeraldCore
import HummingbirdTesting
import Testing

/// The API over real sockets: one request of each guard kind, an oversized body, and answers
/// the router makes itself, through Hummingbird's HTTP/1.1 server and a live client.
@Suite("API: over real sockets")
struct LiveServerTests {
    @Test func publicRoutesNeedNoCredential() async throws {
        try await APIHarness.run(.live) { server in
            let health = try await server.get("/healthz", bearer: nil)
            #expect(health.status == 200)
            #expect(health.json?["status"] as? String == "ok")
            let dispatch = try await server.get("/v1/dispatch?app=demo&user=alice", bearer: nil)
            #expect(dispatch.status == 200, "\(dispatch.text)")
            #expect((dispatch.json?["endpoints"] as? [[String: Any]])?.first?["node"] as? String == "node-a")
        }
    }

    @Test func appRoutesNeedTheAppSecret() async throws {
        try await APIHarness.run(.live) { server in
            let body: [String: Any] = ["users": ["a"], "payload": "x"]
            let missing = try await server.post("/v1/apps/demo/messages", json: body, bearer: nil)
            expectError(missing, 401, "unauthorized")
            #expect(missing.headers["www-authenticate"] == "Bearer")
            expectError(try await server.post("/v1/apps/demo/messages", json: body, bearer: "wrong"), 401)
            let sent = try await server.post("/v1/apps/demo/messages", json: body)
            #expect(sent.status == 200, "\(sent.text)")
            #expect(sent.json?["sessions"] as? Int == 2)
            #expect(server.delivery.calls == [.users(app: "demo", users: ["a"], payload: Array("x".utf8))])
        }
    }

    @Test func adminRoutesNeedTheAdminKey() async throws {
        try await APIHarness.run(.live) { server in
            expectError(try await server.post("/v1/apps", json: ["id": "x"], bearer: nil), 401, "unauthorized")
            expectError(
                try await server.post("/v1/apps", json: ["id": "x"], bearer: APIHarness.appSecret), 401, "unauthorized")
            let created = try await server.post("/v1/apps", json: ["id": "news"], bearer: APIHarness.adminKey)
            #expect(created.status == 201, "\(created.text)")
            #expect(server.registry.app(id: "news") != nil)
        }
    }

    @Test func oversizedBodyIs413() async throws {
        try await APIHarness.run(.live, configure: { $0.maxRequestBodyBytes = 4096 }) { server in
            let users = (0..<1000).map { "user-\($0)" }
            let answer = try await server.post("/v1/apps/demo/messages", json: ["users": users, "payload": "x"])
            expectError(answer, 413, "body_too_large")
            #expect(server.delivery.calls.isEmpty)
        }
    }

    @Test func unknownRoutesAndMethods() async throws {
        try await APIHarness.run(.live) { server in
            expectError(try await server.get("/nope", bearer: nil), 404, "not_found")
            let wrongMethod = try await server.request("PUT", "/v1/apps/demo/messages", body: Data("{}".utf8))
            expectError(wrongMethod, 405, "method_not_allowed")
            #expect(wrongMethod.headers["allow"] == "POST")
            // The connection stays usable after error answers.
            #expect(try await server.get("/healthz/", bearer: nil).status == 200)
        }
    }
}
