import Foundation
import HeraldCore
import HeraldTesting
import Testing

@testable import HeraldAPI

@Suite("API: apps and tokens")
struct AppRoutesTests {
    @Test func createListAndDuplicate() async throws {
        try await APIHarness.run { server in
            let created = try await server.post("/v1/apps", json: ["id": "news"], bearer: APIHarness.adminKey)
            #expect(created.status == 201, "\(created.text)")
            let secret = try #require(created.json?["secret"] as? String)
            #expect(secret.count == 64)
            #expect(created.json?["id"] as? String == "news")
            #expect(server.registry.app(id: "news")?.secret == secret)
            #expect(try await server.catalog.app(id: "news")?.secret == secret)

            let chosen = try await server.post(
                "/v1/apps",
                json: ["id": "chat", "secret": "chosen-secret-0123456789", "webhook": "https://example.com/hook"],
                bearer: APIHarness.adminKey
            )
            #expect(chosen.status == 201)
            #expect(chosen.json?["secret"] as? String == "chosen-secret-0123456789")

            let duplicate = try await server.post("/v1/apps", json: ["id": "news"], bearer: APIHarness.adminKey)
            expectError(duplicate, 409, "app_exists")

            let list = try await server.get("/v1/apps", bearer: APIHarness.adminKey)
            #expect(list.status == 200)
            let ids = (list.json?["apps"] as? [[String: Any]])?.compactMap { $0["id"] as? String }
            #expect(ids == ["chat", "demo", "news"])
        }
    }

    @Test func createWithPolicy() async throws {
        try await APIHarness.run { server in
            let admin = APIHarness.adminKey
            let created = try await server.post(
                "/v1/apps",
                json: [
                    "id": "scores",
                    "policy": ["inboxLimit": 5, "maxTTL": 600, "defaultTTL": 60, "deadLetters": "drop"],
                ],
                bearer: admin
            )
            #expect(created.status == 201, "\(created.text)")
            let policy = try #require(created.json?["policy"] as? [String: Any])
            #expect(policy["inboxLimit"] as? Int == 5)
            #expect(policy["maxTTL"] as? Int == 600)
            #expect(policy["defaultTTL"] as? Int == 60)
            #expect(policy["deadLetters"] as? String == "drop")
            // Fields left out keep their defaults.
            #expect(policy["broadcastTTL"] as? Int == AppPolicy().broadcastTTL)
            #expect(policy["broadcastLimit"] as? Int == AppPolicy().broadcastLimit)
            let expected = AppPolicy(inboxLimit: 5, defaultTTL: 60, maxTTL: 600, deadLetters: .drop)
            #expect(try await server.catalog.app(id: "scores")?.policy == expected)
            #expect(server.registry.app(id: "scores")?.policy == expected)

            let plain = try await server.post("/v1/apps", json: ["id": "plain", "policy": NSNull()], bearer: admin)
            #expect(plain.status == 201, "\(plain.text)")
            #expect((plain.json?["policy"] as? [String: Any])?["inboxLimit"] as? Int == AppPolicy().inboxLimit)

            let list = try await server.get("/v1/apps", bearer: admin)
            let apps = try #require(list.json?["apps"] as? [[String: Any]])
            let listed = apps.first { $0["id"] as? String == "scores" }?["policy"] as? [String: Any]
            #expect(listed?["inboxLimit"] as? Int == 5)
            #expect(apps.allSatisfy { ($0["policy"] as? [String: Any])?.count == CreateAppRequest.policyFields.count })

            // The policy applies to the new app's pushes.
            let secret = try #require(created.json?["secret"] as? String)
            expectError(
                try await server.post(
                    "/v1/apps/scores/messages",
                    json: ["users": ["a"], "payload": "x", "qos": 1, "ttl": 601],
                    bearer: secret
                ),
                400,
                "invalid_ttl"
            )
        }
    }

    @Test func invalidPolicies() async throws {
        try await APIHarness.run { server in
            let admin = APIHarness.adminKey
            let cases: [(Any, String)] = [
                (["inboxLimit": 0], "inboxLimit must be between"),
                (["inboxLimit": 100_001], "inboxLimit must be between"),
                (["defaultTTL": 0], "defaultTTL must be between"),
                (["maxTTL": 40_000_000], "maxTTL must be between"),
                (["defaultTTL": 100, "maxTTL": 50], "defaultTTL must not exceed maxTTL"),
                (["broadcastLimit": -1], "broadcastLimit must be between"),
                (["broadcastTTL": 0], "broadcastTTL must be between"),
                (["inboxLimit": "5"], "policy.inboxLimit"),
                (["inboxLimit": 1.5], "policy.inboxLimit"),
                (["deadLetters": "maybe"], "policy.deadLetters"),
                (["maxTTL": 1e30], "policy.maxTTL"),
                (["inboxlimit": 5], "inboxlimit"),
                ("keep", "policy"),
                ([1, 2], "policy"),
            ]
            for (index, (policy, message)) in cases.enumerated() {
                let answer = try await server.post(
                    "/v1/apps",
                    json: ["id": "p\(index)", "policy": policy],
                    bearer: admin
                )
                expectError(answer, 400, "invalid_policy")
                #expect(answer.errorMessage?.contains(message) == true, "\(policy): \(answer.text)")
            }
            #expect(try await server.catalog.list().map(\.id) == ["demo"])
        }
    }

    @Test func policyFieldsMatchAppPolicy() throws {
        let encoded = try JSONEncoder().encode(AppPolicy())
        let object = try #require(try JSONSerialization.jsonObject(with: encoded) as? [String: Any])
        #expect(Set(object.keys) == CreateAppRequest.policyFields)
    }

    @Test func adminKeyIsRequired() async throws {
        try await APIHarness.run { server in
            expectError(try await server.post("/v1/apps", json: ["id": "x"], bearer: nil), 401, "unauthorized")
            expectError(try await server.post("/v1/apps", json: ["id": "x"], bearer: "wrong"), 401, "unauthorized")
            // The app secret is not the admin key.
            expectError(try await server.get("/v1/apps", bearer: APIHarness.appSecret), 401, "unauthorized")
            expectError(try await server.request("GET", "/v1/apps", headers: ["Authorization": "Basic abc"]), 401)
            #expect(server.registry.app(id: "x") == nil)
        }
    }

    @Test func invalidAppRequests() async throws {
        try await APIHarness.run { server in
            let admin = APIHarness.adminKey
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
        try await APIHarness.run { server in
            // The token is signed at some moment of the request: on a busy machine the request
            // can take longer than the one second of slack the expiry check allows.
            let before = Int64(Date().timeIntervalSince1970)
            let answer = try await server.post(
                "/v1/apps/demo/tokens",
                json: ["user": "alice", "device": "phone", "ttl": 60, "topics": ["news", "scores.*"]]
            )
            let now = Int64(Date().timeIntervalSince1970)
            #expect(answer.status == 200, "\(answer.text)")
            let token = try #require(answer.json?["token"] as? String)
            let verified = try TokenVerifier(apps: server.registry).verify(token, now: now)
            #expect(verified.user == "alice")
            #expect(verified.device == "phone")
            #expect(verified.claims.exp >= before + 59 && verified.claims.exp <= now + 61)
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
        try await APIHarness.run { server in
            expectError(try await server.post("/v1/apps/demo/tokens", json: ["user": "a"], bearer: nil), 401)
            expectError(try await server.post("/v1/apps/demo/tokens", json: ["user": "a"], bearer: "nope"), 401)
            expectError(try await server.post("/v1/apps/ghost/tokens", json: ["user": "a"]), 401, "unauthorized")
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
