import Foundation
import HeraldCore
import HeraldTesting
import Testing

@Suite("API: dead letters")
struct DeadLetterRoutesTests {
    static let path = "/v1/apps/demo/dead-letters"

    static func isRFC3339(_ value: Any?) -> Bool {
        guard let text = value as? String else { return false }
        return ISO8601DateFormatter().date(from: text) != nil
    }

    @Test func listsNewestFirstAndPages() async throws {
        let store = InMemoryMessageStore()
        try await APIHarness.run(store: store, policy: AppPolicy(inboxLimit: 2)) { server in
            let payloads: [[String: Any]] = [
                ["payload": "m1"], ["payloadBase64": Data([0xff, 0xfe]).base64EncodedString()], ["payload": "m3"],
                ["payload": "m4"], ["payload": "m5"],
            ]
            for payload in payloads {
                var body: [String: Any] = ["users": ["u"], "qos": 1]
                body.merge(payload) { $1 }
                let answer = try await server.post("/v1/apps/demo/messages", json: body)
                #expect(answer.status == 200, "\(answer.text)")
            }
            // The inbox keeps 2: messages 1 to 3 died as inbox_full.
            let empty = try await server.get("/v1/apps/demo/dead-letters?limit=500")
            #expect(empty.status == 200, "\(empty.text)")
            let all = try #require(empty.json?["deadLetters"] as? [[String: Any]])
            #expect(all.map { $0["seq"] as? Int } == [3, 2, 1])
            #expect(empty.text.contains(#""next":null"#))

            let first = try await server.get("\(Self.path)?limit=2")
            #expect(first.status == 200, "\(first.text)")
            let letters = try #require(first.json?["deadLetters"] as? [[String: Any]])
            #expect(letters.map { $0["seq"] as? Int } == [3, 2])
            #expect(letters.map { $0["user"] as? String } == ["u", "u"])
            #expect(letters.map { $0["reason"] as? String } == ["inbox_full", "inbox_full"])
            #expect(letters[0]["payload"] as? String == "m3")
            #expect(letters[0]["payloadBase64"] as? String == Data("m3".utf8).base64EncodedString())
            // Not UTF-8: only the base64 form.
            #expect(letters[1]["payload"] == nil)
            #expect(letters[1]["payloadBase64"] as? String == "//4=")
            #expect(letters.allSatisfy { Self.isRFC3339($0["createdAt"]) && Self.isRFC3339($0["diedAt"]) })
            let ids = letters.compactMap { $0["id"] as? Int }
            #expect(ids.count == 2 && ids[0] > ids[1])
            let next = try #require(first.json?["next"] as? Int)
            #expect(next == ids[1])

            let second = try await server.get("\(Self.path)?before=\(next)&limit=2")
            let rest = try #require(second.json?["deadLetters"] as? [[String: Any]])
            #expect(rest.map { $0["seq"] as? Int } == [1])
            #expect(rest.first?["payload"] as? String == "m1")
            #expect(second.json?.keys.contains("next") == true)
            #expect(second.json?["next"] is NSNull)

            // Expired messages die too, once the sweeper runs.
            _ = try await store.purge(now: Date().addingTimeInterval(Double(AppPolicy().maxTTL)), deadLetterLimit: 100)
            let expired = try await server.get(Self.path)
            let reasons = (expired.json?["deadLetters"] as? [[String: Any]])?.compactMap { $0["reason"] as? String }
            #expect(reasons == ["expired", "expired", "inbox_full", "inbox_full", "inbox_full"])
        }
    }

    @Test func droppingPolicyKeepsNone() async throws {
        try await APIHarness.run(policy: AppPolicy(inboxLimit: 1, deadLetters: .drop)) { server in
            for payload in ["a", "b", "c"] {
                _ = try await server.post(
                    "/v1/apps/demo/messages", json: ["users": ["u"], "payload": payload, "qos": 1])
            }
            let answer = try await server.get(Self.path)
            #expect(answer.status == 200, "\(answer.text)")
            #expect((answer.json?["deadLetters"] as? [Any])?.isEmpty == true)
            #expect(answer.json?["next"] is NSNull)
        }
    }

    @Test func badPagingParameters() async throws {
        try await APIHarness.run { server in
            for query in ["limit=0", "limit=501", "limit=abc", "limit=", "limit=1.5", "limit=-1"] {
                expectError(try await server.get("\(Self.path)?\(query)"), 400, "invalid_limit")
            }
            for query in ["before=0", "before=-3", "before=x", "before=", "before=99999999999999999999"] {
                expectError(try await server.get("\(Self.path)?\(query)"), 400, "invalid_before")
            }
            #expect(try await server.get("\(Self.path)?limit=500&before=9223372036854775807").status == 200)
            expectError(try await server.get(Self.path, bearer: nil), 401, "unauthorized")
            expectError(try await server.get("/v1/apps/ghost/dead-letters"), 401, "unauthorized")
        }
    }
}
