import Foundation
import HeraldCore
import HeraldTesting
import Testing

@Suite("API: dead letter metrics")
struct DeadLetterMetricsTests {
    static let series = #"herald_dead_letters_total{reason="inbox_full"}"#

    /// The value of ``series`` in the `/metrics` text, nil when absent.
    static func inboxFull(_ server: APIHarness) async throws -> Int? {
        let metrics = try await server.get("/metrics", bearer: nil)
        #expect(metrics.status == 200)
        let line = metrics.text.split(separator: "\n").first { $0.hasPrefix(Self.series + " ") }
        return line.flatMap { Int($0.dropFirst(Self.series.count + 1)) }
    }

    @Test func countsMessagesPushedPastTheInboxBound() async throws {
        try await APIHarness.run(policy: AppPolicy(inboxLimit: 2)) { server in
            #expect(try await Self.inboxFull(server) == 0)
            for index in 1...5 {
                let answer = try await server.post(
                    "/v1/apps/demo/messages", json: ["users": ["u"], "payload": "m\(index)", "qos": 1])
                #expect(answer.status == 200, "\(answer.text)")
            }
            // Messages 1 to 3 left the inbox of 2.
            #expect(try await Self.inboxFull(server) == 3)

            // A batch counts all its messages; its replay counts nothing again.
            let batch: [String: Any] = [
                "messages": [
                    ["users": ["u"], "payload": "b1", "qos": 1],
                    ["users": ["u", "v"], "payload": "b2", "qos": 1],
                    ["users": ["u"], "payload": "live"],
                ]
            ]
            let key = ["Idempotency-Key": "batch-1"]
            let first = try await server.post("/v1/apps/demo/messages/batch", json: batch, headers: key)
            #expect(first.status == 200, "\(first.text)")
            #expect(try await Self.inboxFull(server) == 5)
            let retry = try await server.post("/v1/apps/demo/messages/batch", json: batch, headers: key)
            #expect(retry.headers["idempotent-replayed"] == "true")
            #expect(try await Self.inboxFull(server) == 5)

            let listed = try await server.get("/v1/apps/demo/dead-letters?limit=500")
            #expect((listed.json?["deadLetters"] as? [Any])?.count == 5)
        }
    }

    @Test func acknowledgedOrDroppedMessagesAreNotCounted() async throws {
        try await APIHarness.run(policy: AppPolicy(inboxLimit: 1, deadLetters: .drop)) { server in
            for payload in ["a", "b", "c"] {
                let answer = try await server.post(
                    "/v1/apps/demo/messages", json: ["users": ["u"], "payload": payload, "qos": 1])
                #expect(answer.status == 200, "\(answer.text)")
            }
            #expect(try await Self.inboxFull(server) == 0)
        }
        let store = InMemoryMessageStore()
        try await APIHarness.run(store: store, policy: AppPolicy(inboxLimit: 1)) { server in
            let first = try await server.post(
                "/v1/apps/demo/messages", json: ["users": ["u"], "payload": "a", "qos": 1])
            #expect(first.status == 200, "\(first.text)")
            try await store.acknowledge([InboxAcknowledgement(app: "demo", user: "u", device: "phone", seq: 1)])
            let second = try await server.post(
                "/v1/apps/demo/messages", json: ["users": ["u"], "payload": "b", "qos": 1])
            #expect(second.status == 200, "\(second.text)")
            #expect(try await Self.inboxFull(server) == 0)
        }
    }
}
