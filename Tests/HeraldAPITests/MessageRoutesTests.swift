import Foundation
import HeraldAPI
import HeraldCore
import NIOCore
import Testing

@Suite("API: messages")
struct MessageRoutesTests {
    @Test func sendsTextAndBase64Payloads() async throws {
        try await APIHarness.run { server in
            let text = try await server.post(
                "/v1/apps/demo/messages",
                json: ["users": ["alice", "bob", "alice"], "payload": "héllo"]
            )
            #expect(text.status == 200, "\(text.text)")
            let entries = try #require(text.json?["messages"] as? [[String: Any]])
            #expect(entries.compactMap { $0["user"] as? String } == ["alice", "bob"])
            #expect(entries.compactMap { $0["seq"] as? Int } == [0, 0])
            #expect(text.json?["sessions"] as? Int == 4)

            let binary = try await server.post(
                "/v1/apps/demo/messages",
                json: ["users": ["carol"], "payloadBase64": Data([0, 1, 2, 255]).base64EncodedString(), "qos": 0],
            )
            #expect(binary.status == 200, "\(binary.text)")
            #expect(
                server.delivery.calls == [
                    .users(app: "demo", users: ["alice", "bob"], payload: Array("héllo".utf8)),
                    .users(app: "demo", users: ["carol"], payload: [0, 1, 2, 255]),
                ]
            )
        }
    }

    @Test func payloadMustFitOnePushFrame() async throws {
        try await APIHarness.run { server in
            let limit = 65536 - 12
            let fits = try await server.post(
                "/v1/apps/demo/messages",
                json: ["users": ["a"], "payload": String(repeating: "x", count: limit)]
            )
            #expect(fits.status == 200, "\(fits.text)")
            let tooBig = try await server.post(
                "/v1/apps/demo/messages",
                json: ["users": ["a"], "payload": String(repeating: "x", count: limit + 1)]
            )
            expectError(tooBig, 413, "payload_too_large")
            let tooBigBinary = try await server.post(
                "/v1/apps/demo/messages",
                json: ["users": ["a"], "payloadBase64": Data(count: limit + 1).base64EncodedString()]
            )
            expectError(tooBigBinary, 413, "payload_too_large")
            // Topic names take room in the frame too.
            let topic = String(repeating: "t", count: 100)
            let topicTooBig = try await server.post(
                "/v1/apps/demo/topics/\(topic)/messages",
                json: ["payload": String(repeating: "x", count: limit - 99)]
            )
            expectError(topicTooBig, 413, "payload_too_large")
            #expect(server.delivery.calls.count == 1)
        }
    }

    @Test func oversizedBodyIs413() async throws {
        try await APIHarness.run(configure: { $0.maxRequestBodyBytes = 4096 }) { server in
            let users = (0..<1000).map { "user-\($0)" }
            let answer = try await server.post("/v1/apps/demo/messages", json: ["users": users, "payload": "x"])
            expectError(answer, 413, "body_too_large")
            #expect(server.delivery.calls.isEmpty)
        }
    }

    @Test func invalidMessages() async throws {
        try await APIHarness.run { server in
            let path = "/v1/apps/demo/messages"
            expectError(
                try await server.post(path, json: ["users": ["a"], "payload": "x", "payloadBase64": "eA=="]),
                400,
                "invalid_payload"
            )
            expectError(try await server.post(path, json: ["users": ["a"]]), 400, "invalid_payload")
            expectError(
                try await server.post(path, json: ["users": ["a"], "payloadBase64": "not base64!"]),
                400,
                "invalid_payload"
            )
            expectError(try await server.post(path, json: ["payload": "x"]), 400, "invalid_users")
            expectError(try await server.post(path, json: ["users": [], "payload": "x"]), 400, "invalid_users")
            expectError(try await server.post(path, json: ["users": [""], "payload": "x"]), 400, "invalid_users")
            expectError(try await server.post(path, json: ["users": "alice", "payload": "x"]), 400, "invalid_field")
            expectError(try await server.post(path, json: ["users": [1, 2], "payload": "x"]), 400, "invalid_field")
            expectError(try await server.post(path, json: ["users": ["a"], "payload": 5]), 400, "invalid_field")
            expectError(
                try await server.post(path, json: ["users": ["a"], "payload": "x", "qos": 2]),
                400,
                "invalid_qos"
            )
            expectError(try await server.post(path, json: ["users": ["a"], "payload": "x", "qos": "0"]), 400)
            expectError(
                try await server.post(path, raw: #"{"users":["a"],"payload":"x","qos":99999999999999999999999}"#),
                400
            )
            expectError(
                try await server.post(path, json: ["users": ["a"], "payload": "x", "ttl": 60]),
                400,
                "invalid_field"
            )
            expectError(try await server.post(path, json: ["users": ["a"], "payload": "x", "collapseKey": "k"]), 400)
            expectError(
                try await server.post(path, raw: "{\"users\": [\"a\"], \"payload\": \"x\""),
                400,
                "malformed_json"
            )
            expectError(try await server.post(path, raw: "null"), 400)
            let users = (0...1000).map { "u\($0)" }
            expectError(try await server.post(path, json: ["users": users, "payload": "x"]), 400, "invalid_users")
            let nested = String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)
            expectError(try await server.post(path, raw: #"{"users":["a"],"payload":"x","extra":\#(nested)}"#), 400)
            #expect(server.delivery.calls.isEmpty)
        }
    }

    @Test func authAndUnknownApp() async throws {
        try await APIHarness.run { server in
            let body: [String: Any] = ["users": ["a"], "payload": "x"]
            expectError(try await server.post("/v1/apps/demo/messages", json: body, bearer: nil), 401, "unauthorized")
            expectError(
                try await server.post("/v1/apps/demo/messages", json: body, bearer: "wrong"),
                401,
                "unauthorized"
            )
            expectError(
                try await server.post("/v1/apps/demo/messages", json: body, bearer: APIHarness.appSecret + "x"),
                401
            )
            expectError(try await server.post("/v1/apps/ghost/messages", json: body), 401, "unauthorized")
            #expect(server.delivery.calls.isEmpty)
        }
    }

    @Test func batchAnswersEachMessageInOrder() async throws {
        try await APIHarness.run { server in
            let answer = try await server.post(
                "/v1/apps/demo/messages/batch",
                json: [
                    "messages": [
                        ["users": ["a"], "payload": "one"],
                        ["users": ["b"], "payload": "two", "qos": 1],
                        ["users": "c", "payload": "three"],
                        ["users": ["d"], "payload": "x", "payloadBase64": "eA=="],
                        ["users": ["e", "f"], "payloadBase64": "AAE="],
                    ]
                ]
            )
            #expect(answer.status == 200, "\(answer.text)")
            let results = try #require(answer.json?["results"] as? [[String: Any]])
            #expect(results.count == 5)
            #expect(results[0]["sessions"] as? Int == 2)
            #expect((results[1]["messages"] as? [[String: Any]])?.first?["seq"] as? Int == 1)
            #expect(((results[2]["error"] as? [String: Any])?["code"]) as? String == "invalid_field")
            #expect(((results[3]["error"] as? [String: Any])?["code"]) as? String == "invalid_payload")
            #expect(results[4]["sessions"] as? Int == 4)
            #expect(
                server.delivery.calls == [
                    .users(app: "demo", users: ["a"], payload: Array("one".utf8)),
                    .stored(app: "demo", deliveries: [UserSequence(user: "b", seq: 1)], payload: Array("two".utf8)),
                    .users(app: "demo", users: ["e", "f"], payload: [0, 1]),
                ]
            )
            // Counted once for the batch: three accepted, 2 + 2 + 4 sessions.
            let metrics = try await server.get("/metrics", bearer: APIHarness.adminKey)
            #expect(
                metrics.text.contains(#"herald_messages_accepted_total{app="demo",kind="user"} 3"#), "\(metrics.text)")
            #expect(metrics.text.contains(#"herald_deliveries_total{app="demo",kind="user"} 8"#))

            expectError(try await server.post("/v1/apps/demo/messages/batch", json: ["messages": []]), 400)
            expectError(try await server.post("/v1/apps/demo/messages/batch", json: ["messages": "x"]), 400)
            expectError(try await server.post("/v1/apps/demo/messages/batch", json: [:] as [String: Any]), 400)
            expectError(
                try await server.post("/v1/apps/demo/messages/batch", raw: "{\"messages\": [}"),
                400,
                "malformed_json"
            )
        }
    }

    @Test func broadcastsGetGrowingSequences() async throws {
        try await APIHarness.run { server in
            let first = try await server.post("/v1/apps/demo/broadcasts", json: ["payload": "hi", "ttl": 60])
            #expect(first.status == 200, "\(first.text)")
            #expect(first.json?["seq"] as? Int == 1)
            #expect(first.json?["sessions"] as? Int == 2)
            let second = try await server.post("/v1/apps/demo/broadcasts", json: ["payloadBase64": "AA=="])
            #expect(second.json?["seq"] as? Int == 2)
            #expect(try await server.store.lastBroadcastSequence(app: "demo") == 2)
            #expect(
                server.delivery.calls == [
                    .broadcast(app: "demo", seq: 1, payload: Array("hi".utf8)),
                    .broadcast(app: "demo", seq: 2, payload: [0]),
                ]
            )
            expectError(try await server.post("/v1/apps/demo/broadcasts", json: ["ttl": 5]), 400, "invalid_payload")
            expectError(try await server.post("/v1/apps/demo/broadcasts", json: ["payload": "x", "ttl": -1]), 400)
        }
    }

    @Test func storeFailureIs503() async throws {
        try await APIHarness.run(store: FaultyStore(fault: .unavailable("database is down"))) { server in
            let answer = try await server.post("/v1/apps/demo/broadcasts", json: ["payload": "hi"])
            expectError(answer, 503, "store_unavailable")
            #expect(server.delivery.calls.isEmpty)
        }
    }

    @Test func topicMessages() async throws {
        try await APIHarness.run { server in
            let answer = try await server.post("/v1/apps/demo/topics/scores%20live/messages", json: ["payload": "1:0"])
            #expect(answer.status == 200, "\(answer.text)")
            #expect(answer.json?["sessions"] as? Int == 2)
            #expect(server.delivery.calls == [.publish(app: "demo", topic: "scores live", payload: Array("1:0".utf8))])
            expectError(
                try await server.post("/v1/apps/demo/topics/a%2Ab/messages", json: ["payload": "x"]),
                400,
                "invalid_topic"
            )
            let long = String(repeating: "t", count: 256)
            expectError(try await server.post("/v1/apps/demo/topics/\(long)/messages", json: ["payload": "x"]), 400)
        }
    }
}
