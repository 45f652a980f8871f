import Foundation
import HeraldCore
import Testing

@Suite("API: apps and tokens")
struct AppRoutesTests {
    @Test func createListAndDuplicate() async throws {
        try await APITestServer.run { server in
            let created = try await server.post("/v1/apps", json: ["id": "news"], bearer: APITestServer.adminKey)
            #expect(created.status == 201, "\(created.text)")
            let secret = try #require(created.json?["secret"] as? String)
            #expect(secret.count == 64)
            #expect(created.json?["id"] as? String == "news")
            #expect(server.registry.app(id: "news")?.secret == secret)
            #expect(try await server.catalog.app(id: "news")?.secret == secret)

            let chosen = try await server.post(
                "/v1/apps",
                json: ["id": "chat", "secret": "chosen-secret-0123456789", "webhook": "https://example.com/hook"],
                bearer: APITestServer.adminKey
            )
            #expect(chosen.status == 201)
            #expect(chosen.json?["secret"] as? String == "chosen-secret-0123456789")

            let duplicate = try await server.post("/v1/apps", json: ["id": "news"], bearer: APITestServer.adminKey)
            expectError(duplicate, 409, "app_exists")

            let list = try await server.get("/v1/apps", bearer: APITestServer.adminKey)
            #expect(list.status == 200)
            let ids = (list.json?["apps"] as? [[String: Any]])?.compactMap { $0["id"] as? String }
            #expect(ids == ["chat", "demo", "news"])
        }
    }

    @Test func adminKeyIsRequired() async throws {
        try await APITestServer.run { server in
            expectError(try await server.post("/v1/apps", json: ["id": "x"], bearer: nil), 401, "unauthorized")
            expectError(try await server.post("/v1/apps", json: ["id": "x"], bearer: "wrong"), 401, "unauthorized")
            // The app secret is not the admin key.
            expectError(try await server.get("/v1/apps", bearer: APITestServer.appSecret), 401, "unauthorized")
            expectError(try await server.request("GET", "/v1/apps", headers: ["Authorization": "Basic abc"]), 401)
            #expect(server.registry.app(id: "x") == nil)
        }
    }

    @Test func invalidAppRequests() async throws {
        try await APITestServer.run { server in
            let admin = APITestServer.adminKey
            expectError(try await server.post("/v1/apps", json: ["id": "bad id!"], bearer: admin), 400, "invalid_id")
            expectError(try await server.post("/v1/apps", json: ["secret": "x"], bearer: admin), 400)
            expectError(try await server.post("/v1/apps", json: ["id": 5], bearer: admin), 400, "invalid_field")
            expectError(try await server.post("/v1/apps", json: ["id": "a", "secret": "short"], bearer: admin), 400)
            expectError(try await server.post("/v1/apps", json: ["id": "a", "webhook": "ftp://x"], bearer: admin), 400)
            expectError(try await server.post("/v1/apps", raw: "{\"id\": ", bearer: admin), 400, "malformed_json")
            expectError(try await server.post("/v1/apps", raw: "[\"id\"]", bearer: admin), 400)
            expectError(try await server.post("/v1/apps", raw: "", bearer: admin), 400, "malformed_json")
        }
    }

    @Test func tokensVerifyWithTheAppSecret() async throws {
        try await APITestServer.run { server in
            let answer = try await server.post(
                "/v1/apps/demo/tokens",
                json: ["user": "alice", "device": "phone", "ttl": 60, "topics": ["news", "scores.*"]]
            )
            #expect(answer.status == 200, "\(answer.text)")
            let token = try #require(answer.json?["token"] as? String)
            let now = Int64(Date().timeIntervalSince1970)
            let verified = try TokenVerifier(apps: server.registry).verify(token, now: now)
            #expect(verified.user == "alice")
            #expect(verified.device == "phone")
            #expect(verified.claims.exp >= now + 59 && verified.claims.exp <= now + 61)
            #expect(verified.topics.allows("scores.live"))
            #expect(!verified.topics.allows("weather"))

            let plain = try await server.post("/v1/apps/demo/tokens", json: ["user": "bob"])
            let plainToken = try #require(plain.json?["token"] as? String)
            let defaults = try TokenVerifier(apps: server.registry).verify(plainToken, now: now)
            #expect(defaults.device == "default")
            #expect(defaults.claims.exp >= now + 3599)
        }
    }

    @Test func tokenErrors() async throws {
        try await APITestServer.run { server in
            expectError(try await server.post("/v1/apps/demo/tokens", json: ["user": "a"], bearer: nil), 401)
            expectError(try await server.post("/v1/apps/demo/tokens", json: ["user": "a"], bearer: "nope"), 401)
            expectError(try await server.post("/v1/apps/ghost/tokens", json: ["user": "a"]), 404, "unknown_app")
            expectError(try await server.post("/v1/apps/demo/tokens", json: ["device": "a"]), 400, "invalid_user")
            expectError(try await server.post("/v1/apps/demo/tokens", json: ["user": ""]), 400, "invalid_user")
            expectError(
                try await server.post("/v1/apps/demo/tokens", json: ["user": "a", "ttl": 0]),
                400,
                "invalid_ttl"
            )
            expectError(try await server.post("/v1/apps/demo/tokens", json: ["user": "a", "ttl": 99_999_999]), 400)
            expectError(try await server.post("/v1/apps/demo/tokens", raw: #"{"user":"a","ttl":1e400}"#), 400)
            expectError(try await server.post("/v1/apps/demo/tokens", json: ["user": "a", "ttl": "60"]), 400)
            expectError(try await server.post("/v1/apps/demo/tokens", json: ["user": "a", "topics": ["a*b"]]), 400)
            let long = String(repeating: "u", count: 257)
            expectError(try await server.post("/v1/apps/demo/tokens", json: ["user": long]), 400, "invalid_user")
        }
    }
}
