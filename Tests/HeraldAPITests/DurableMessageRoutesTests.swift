import Foundation
import HeraldCore
import NIOCore
import Testing

@testable import HeraldAPI

@Suite("API: QoS 1 messages, idempotency and store faults")
struct DurableMessageRoutesTests {
    static let path = "/v1/apps/demo/messages"
    static let batchPath = "/v1/apps/demo/messages/batch"

    /// `[(user, seq)]` of a MessageResult.
    static func sequences(_ result: [String: Any]?) -> [String] {
        let entries = result?["messages"] as? [[String: Any]] ?? []
        return entries.map { "\($0["user"] as? String ?? "?"):\($0["seq"] as? Int ?? -1)" }
    }

    @Test func qos1AnswersRealSequencesAfterStoring() async throws {
        let events = EventLog()
        let store = FaultyStore(events: events)
        try await APIHarness.run(store: store, delivery: RecordingDelivery(events: events)) { server in
            let first = try await server.post(
                Self.path,
                json: ["users": ["a", "b", "a"], "payload": "one", "qos": 1]
            )
            #expect(first.status == 200, "\(first.text)")
            #expect(Self.sequences(first.json) == ["a:1", "b:1"])
            #expect(first.json?["sessions"] as? Int == 4)
            #expect(first.headers["idempotent-replayed"] == nil)

            let second = try await server.post(Self.path, json: ["users": ["b"], "payload": "two", "qos": 1])
            #expect(Self.sequences(second.json) == ["b:2"])

            // Stored first, delivered after, with the sequences the store gave.
            #expect(events.all == ["stored a:1,b:1", "delivered a:1,b:1", "stored b:2", "delivered b:2"])
            #expect(
                server.delivery.calls == [
                    .stored(
                        app: "demo",
                        deliveries: [UserSequence(user: "a", seq: 1), UserSequence(user: "b", seq: 1)],
                        payload: Array("one".utf8)
                    ),
                    .stored(app: "demo", deliveries: [UserSequence(user: "b", seq: 2)], payload: Array("two".utf8)),
                ]
            )
            // The app's policy reaches the store: default TTL, inbox bound, dead letters kept.
            let append = try #require(store.inboxAppends.first)
            #expect(append.app == "demo")
            #expect(append.inboxLimit == AppPolicy().inboxLimit)
            #expect(append.idempotency == nil)
            #expect(append.messages.map(\.ttl) == [.seconds(AppPolicy().defaultTTL)])
            #expect(append.messages.map(\.keepsDeadLetter) == [true])

            let replay = try await store.inbox(app: "demo", user: "b", device: "d", after: 0, now: Date())
            #expect(replay.messages.map(\.seq) == [1, 2])

            let status = try await server.get("/v1/apps/demo/users/b")
            #expect(status.json?["inboxSeq"] as? Int == 2)
            let never = try await server.get("/v1/apps/demo/users/nobody")
            #expect(never.json?["inboxSeq"] as? Int == 0)
        }
    }

    @Test func ttlBoundsComeFromThePolicy() async throws {
        let policy = AppPolicy(defaultTTL: 50, maxTTL: 100, broadcastTTL: 30, broadcastLimit: 2, deadLetters: .drop)
        let store = FaultyStore()
        try await APIHarness.run(store: store, policy: policy) { server in
            let atMax = try await server.post(Self.path, json: ["users": ["a"], "payload": "x", "qos": 1, "ttl": 100])
            #expect(atMax.status == 200, "\(atMax.text)")
            let byDefault = try await server.post(Self.path, json: ["users": ["a"], "payload": "y", "qos": 1])
            #expect(byDefault.status == 200, "\(byDefault.text)")
            #expect(store.inboxAppends.flatMap(\.messages).map(\.ttl) == [.seconds(100), .seconds(50)])
            #expect(store.inboxAppends.flatMap(\.messages).map(\.keepsDeadLetter) == [false, false])

            // The default TTL applies: at +60s only the 100-second message is left.
            let later = try await store.inbox(
                app: "demo",
                user: "a",
                device: "d",
                after: 0,
                now: Date().addingTimeInterval(60)
            )
            #expect(later.messages.map(\.seq) == [1])

            for ttl in [101, 0, -5] {
                expectError(
                    try await server.post(Self.path, json: ["users": ["a"], "payload": "x", "qos": 1, "ttl": ttl]),
                    400,
                    "invalid_ttl"
                )
            }
            expectError(
                try await server.post(Self.path, json: ["users": ["a"], "payload": "x", "qos": 1, "ttl": "60"]),
                400,
                "invalid_field"
            )
            expectError(
                try await server.post(Self.path, raw: #"{"users":["a"],"payload":"x","qos":1,"ttl":1.5}"#),
                400,
                "invalid_field"
            )
            expectError(
                try await server.post(Self.path, raw: #"{"users":["a"],"payload":"x","qos":1,"ttl":1e30}"#),
                400,
                "invalid_field"
            )
            let batch = try await server.post(
                Self.batchPath,
                raw: #"{"messages":[{"users":["a"],"payload":"x","qos":1,"ttl":2.5}]}"#
            )
            let entryError = (batch.json?["results"] as? [[String: Any]])?.first?["error"] as? [String: Any]
            #expect(entryError?["code"] as? String == "invalid_field")
            #expect((entryError?["message"] as? String)?.contains("messages[0].ttl") == true, "\(batch.text)")
            expectError(
                try await server.post("/v1/apps/demo/broadcasts", raw: #"{"payload":"x","ttl":0.5}"#),
                400,
                "invalid_field"
            )
            // ttl and collapseKey stay refused on qos 0.
            expectError(
                try await server.post(Self.path, json: ["users": ["a"], "payload": "x", "ttl": 10]),
                400,
                "invalid_field"
            )

            // Broadcasts: TTL within maxTTL (default broadcastTTL), log bounded by broadcastLimit.
            for payload in ["b1", "b2", "b3"] {
                let answer = try await server.post("/v1/apps/demo/broadcasts", json: ["payload": payload])
                #expect(answer.status == 200, "\(answer.text)")
            }
            let log = try await store.broadcasts(app: "demo", after: 0, now: Date())
            #expect(log.messages.map(\.seq) == [2, 3])
            #expect(log.trimmedThrough == 1)
            let expired = try await store.broadcasts(app: "demo", after: 0, now: Date().addingTimeInterval(31))
            #expect(expired.messages.isEmpty)
            let longer = try await server.post("/v1/apps/demo/broadcasts", json: ["payload": "b4", "ttl": 100])
            #expect(longer.json?["seq"] as? Int == 4)
            expectError(
                try await server.post("/v1/apps/demo/broadcasts", json: ["payload": "x", "ttl": 101]),
                400,
                "invalid_ttl"
            )
            expectError(try await server.post("/v1/apps/demo/broadcasts", json: ["payload": "x", "ttl": 0]), 400)
            #expect(try await store.lastBroadcastSequence(app: "demo") == 4)
        }
    }

    @Test func collapseKeys() async throws {
        let store = FaultyStore()
        try await APIHarness.run(store: store) { server in
            for score in ["1:0", "2:0", "2:1"] {
                let answer = try await server.post(
                    Self.path,
                    json: ["users": ["fan"], "payload": score, "qos": 1, "collapseKey": "score"]
                )
                #expect(answer.status == 200, "\(answer.text)")
            }
            let inbox = try await store.inbox(app: "demo", user: "fan", device: "phone", after: 0, now: Date())
            #expect(inbox.messages.map(\.seq) == [3])
            #expect(inbox.messages.map { String(buffer: $0.payload) } == ["2:1"])
            #expect(inbox.lostThrough == 0)

            let longest = String(repeating: "é", count: 64)  // 128 bytes
            let fits = try await server.post(
                Self.path,
                json: ["users": ["fan"], "payload": "x", "qos": 1, "collapseKey": longest]
            )
            #expect(fits.status == 200, "\(fits.text)")
            for key in ["", String(repeating: "é", count: 65), String(repeating: "k", count: 129)] {
                expectError(
                    try await server.post(
                        Self.path, json: ["users": ["fan"], "payload": "x", "qos": 1, "collapseKey": key]),
                    400,
                    "invalid_collapse_key"
                )
            }
            expectError(
                try await server.post(Self.path, json: ["users": ["fan"], "payload": "x", "qos": 1, "collapseKey": 7]),
                400,
                "invalid_field"
            )
            expectError(
                try await server.post(Self.path, json: ["users": ["fan"], "payload": "x", "collapseKey": "k"]),
                400,
                "invalid_field"
            )
            #expect(store.inboxAppends.count == 4)
        }
    }

    @Test func batchStoresQoS1EntriesInOneCall() async throws {
        let events = EventLog()
        let store = FaultyStore(events: events)
        try await APIHarness.run(store: store, delivery: RecordingDelivery(events: events)) { server in
            let answer = try await server.post(
                Self.batchPath,
                json: [
                    "messages": [
                        ["users": ["a"], "payload": "one", "qos": 1, "ttl": 60],
                        ["users": ["z"], "payload": "live"],
                        ["users": ["a", "b"], "payload": "two", "qos": 1, "collapseKey": "k"],
                        ["users": ["c"], "payload": "bad", "qos": 1, "collapseKey": ""],
                        ["users": ["b"], "payload": "three", "qos": 1],
                    ]
                ]
            )
            #expect(answer.status == 200, "\(answer.text)")
            let results = try #require(answer.json?["results"] as? [[String: Any]])
            #expect(results.count == 5)
            #expect(Self.sequences(results[0]) == ["a:1"])
            #expect(Self.sequences(results[1]) == ["z:0"])
            #expect(Self.sequences(results[2]) == ["a:2", "b:1"])
            #expect(((results[3]["error"] as? [String: Any])?["code"]) as? String == "invalid_collapse_key")
            #expect(((results[3]["error"] as? [String: Any])?["status"]) as? Int == 400)
            #expect(Self.sequences(results[4]) == ["b:2"])
            #expect(results.map { $0["sessions"] as? Int } == [2, 2, 4, nil, 2])

            // One atomic store call for the three valid QoS 1 entries, before any delivery.
            #expect(store.inboxAppends.count == 1)
            #expect(store.inboxAppends.first?.messages.map(\.users) == [["a"], ["a", "b"], ["b"]])
            #expect(store.inboxAppends.first?.messages.map(\.collapseKey) == [nil, "k", nil])
            #expect(events.all == ["stored a:1 a:2,b:1 b:2", "delivered a:1", "delivered a:2,b:1", "delivered b:2"])
            #expect(
                server.delivery.calls == [
                    .stored(app: "demo", deliveries: [UserSequence(user: "a", seq: 1)], payload: Array("one".utf8)),
                    .users(app: "demo", users: ["z"], payload: Array("live".utf8)),
                    .stored(
                        app: "demo",
                        deliveries: [UserSequence(user: "a", seq: 2), UserSequence(user: "b", seq: 1)],
                        payload: Array("two".utf8)
                    ),
                    .stored(app: "demo", deliveries: [UserSequence(user: "b", seq: 2)], payload: Array("three".utf8)),
                ]
            )
        }
    }

    @Test func batchFailsWholeWhenItsStoreCallFails() async throws {
        let store = FaultyStore(fault: .sequenceExhausted(app: "demo"))
        try await APIHarness.run(store: store) { server in
            let batch: [String: Any] = [
                "messages": [
                    ["users": ["z"], "payload": "live"],
                    ["users": ["a"], "payload": "one", "qos": 1],
                    ["users": ["b"], "payload": "two", "qos": 1],
                ]
            ]
            expectError(try await server.post(Self.batchPath, json: batch), 507, "sequence_exhausted")
            store.fault = .unavailable("down")
            expectError(try await server.post(Self.batchPath, json: batch), 503, "store_unavailable")
            // Nothing was sent, QoS 0 entries included, and nothing was stored.
            #expect(server.delivery.calls.isEmpty)
            #expect(store.inboxAppends.map(\.messages.count) == [2, 2])
            store.fault = nil
            #expect(try await store.lastInboxSequence(app: "demo", user: "a") == 0)

            // A batch without QoS 1 entries does not touch the store.
            let live = try await server.post(Self.batchPath, json: ["messages": [["users": ["z"], "payload": "x"]]])
            #expect(live.status == 200, "\(live.text)")
            #expect(store.inboxAppends.count == 2)
        }
    }

    @Test func storeErrorsMapToStatuses() async throws {
        let store = FaultyStore(fault: .unavailable("database is down"))
        try await APIHarness.run(store: store) { server in
            let qos1: [String: Any] = ["users": ["a"], "payload": "x", "qos": 1]
            expectError(try await server.post(Self.path, json: qos1), 503, "store_unavailable")
            expectError(
                try await server.post("/v1/apps/demo/broadcasts", json: ["payload": "x"]), 503, "store_unavailable")
            expectError(try await server.get("/v1/apps/demo/users/a"), 503, "store_unavailable")
            expectError(try await server.get("/v1/apps/demo/dead-letters"), 503, "store_unavailable")
            // QoS 0 does not need the store.
            let live = try await server.post(Self.path, json: ["users": ["a"], "payload": "x"])
            #expect(live.status == 200, "\(live.text)")
            #expect(server.delivery.calls == [.users(app: "demo", users: ["a"], payload: Array("x".utf8))])

            store.fault = .idempotencyConflict
            expectError(try await server.post(Self.path, json: qos1), 409, "idempotency_conflict")
            store.fault = .sequenceExhausted(app: "demo")
            expectError(try await server.post(Self.path, json: qos1), 507, "sequence_exhausted")
            expectError(try await server.post("/v1/apps/demo/broadcasts", json: ["payload": "x"]), 507)

            store.fault = nil
            let back = try await server.post(Self.path, json: qos1)
            #expect(back.status == 200, "\(back.text)")
            #expect(Self.sequences(back.json) == ["a:1"])
            #expect(server.delivery.calls.count == 2)
        }
    }

    @Test func idempotentRetriesReplayTheOriginalSequences() async throws {
        let store = FaultyStore()
        try await APIHarness.run(store: store) { server in
            let key = ["Idempotency-Key": "order-42"]
            let first = try await server.post(
                Self.path,
                json: ["users": ["a", "b"], "payload": "hi", "qos": 1, "ttl": 60],
                headers: key
            )
            #expect(first.status == 200, "\(first.text)")
            #expect(Self.sequences(first.json) == ["a:1", "b:1"])
            #expect(first.json?["sessions"] as? Int == 4)
            #expect(store.inboxAppends.first?.idempotency?.key == "order-42")
            #expect(store.inboxAppends.first?.idempotency?.fingerprint.count == 64)

            // The same request in another spelling: other key order, the payload as base64.
            let retry = try await server.request(
                "POST",
                Self.path,
                body: Data(#"{"ttl":60,"qos":1,"payloadBase64":"aGk=","users":["a","b","a"]}"#.utf8),
                bearer: APIHarness.appSecret,
                headers: key
            )
            #expect(retry.status == 200, "\(retry.text)")
            #expect(Self.sequences(retry.json) == ["a:1", "b:1"])
            #expect(retry.json?["sessions"] as? Int == 0)
            #expect(retry.headers["idempotent-replayed"] == "true")
            #expect(server.delivery.calls.count == 1)
            #expect(try await store.lastInboxSequence(app: "demo", user: "a") == 1)

            // The same key with another body, or on the batch endpoint, is a conflict.
            let other: [String: Any] = ["users": ["a", "b"], "payload": "hi!", "qos": 1, "ttl": 60]
            expectError(try await server.post(Self.path, json: other, headers: key), 409, "idempotency_conflict")
            let otherTTL: [String: Any] = ["users": ["a", "b"], "payload": "hi", "qos": 1]
            expectError(try await server.post(Self.path, json: otherTTL, headers: key), 409, "idempotency_conflict")
            let asBatch: [String: Any] = ["messages": [["users": ["a", "b"], "payload": "hi", "qos": 1, "ttl": 60]]]
            expectError(try await server.post(Self.batchPath, json: asBatch, headers: key), 409, "idempotency_conflict")
            #expect(server.delivery.calls.count == 1)

            // Another key is another request.
            let fresh = try await server.post(Self.path, json: other, headers: ["Idempotency-Key": "order-43"])
            #expect(Self.sequences(fresh.json) == ["a:2", "b:2"])
            #expect(fresh.headers["idempotent-replayed"] == nil)
        }
    }

    @Test func idempotentBatchRetry() async throws {
        let store = FaultyStore()
        try await APIHarness.run(store: store) { server in
            let key = ["Idempotency-Key": "batch-1"]
            let batch: [String: Any] = [
                "messages": [
                    ["users": ["z"], "payload": "live"],
                    ["users": ["a"], "payload": "one", "qos": 1],
                    ["users": ["a"], "payload": "x", "qos": 3],
                    ["users": ["b"], "payload": "two", "qos": 1],
                ]
            ]
            let first = try await server.post(Self.batchPath, json: batch, headers: key)
            #expect(first.status == 200, "\(first.text)")
            let firstResults = try #require(first.json?["results"] as? [[String: Any]])
            #expect(firstResults.map { $0["sessions"] as? Int } == [2, 2, nil, 2])
            let callsAfterFirst = server.delivery.calls
            #expect(callsAfterFirst.count == 3)

            let retry = try await server.post(Self.batchPath, json: batch, headers: key)
            #expect(retry.status == 200, "\(retry.text)")
            #expect(retry.headers["idempotent-replayed"] == "true")
            let results = try #require(retry.json?["results"] as? [[String: Any]])
            #expect(Self.sequences(results[0]) == ["z:0"])
            #expect(Self.sequences(results[1]) == ["a:1"])
            #expect(((results[2]["error"] as? [String: Any])?["code"]) as? String == "invalid_qos")
            #expect(Self.sequences(results[3]) == ["b:1"])
            #expect(results.map { $0["sessions"] as? Int } == [0, 0, nil, 0])
            // Nothing sent again, QoS 0 included.
            #expect(server.delivery.calls == callsAfterFirst)

            var changed = batch
            changed["messages"] = [
                ["users": ["z"], "payload": "live"],
                ["users": ["a"], "payload": "one", "qos": 1],
                ["users": ["a"], "payload": "x", "qos": 1],
                ["users": ["b"], "payload": "two", "qos": 1],
            ]
            expectError(try await server.post(Self.batchPath, json: changed, headers: key), 409, "idempotency_conflict")
            #expect(server.delivery.calls == callsAfterFirst)
        }
    }

    @Test func invalidIdempotencyKeys() async throws {
        let store = FaultyStore()
        try await APIHarness.run(store: store) { server in
            let qos1: [String: Any] = ["users": ["a"], "payload": "x", "qos": 1]
            for bad in [String(repeating: "k", count: 256), "clé"] {
                expectError(
                    try await server.post(Self.path, json: qos1, headers: ["Idempotency-Key": bad]),
                    400,
                    "invalid_idempotency_key"
                )
            }
            let longest = String(repeating: "k", count: 255)
            let fits = try await server.post(Self.path, json: qos1, headers: ["Idempotency-Key": longest])
            #expect(fits.status == 200, "\(fits.text)")
            let spaced = try await server.post(Self.path, json: qos1, headers: ["Idempotency-Key": "a key ~!"])
            #expect(spaced.status == 200, "\(spaced.text)")

            // Keys are for stored pushes: refused on QoS 0 only requests.
            let live: [String: Any] = ["users": ["a"], "payload": "x"]
            expectError(
                try await server.post(Self.path, json: live, headers: ["Idempotency-Key": "k1"]),
                400,
                "invalid_idempotency_key"
            )
            expectError(
                try await server.post(
                    Self.batchPath, json: ["messages": [live, live]], headers: ["Idempotency-Key": "k1"]),
                400,
                "invalid_idempotency_key"
            )
            #expect(server.delivery.calls.count == 2)
            #expect(store.inboxAppends.count == 2)
        }
    }

    @Test func fingerprintIsCanonical() throws {
        func message(_ users: [String], _ payload: String, ttl: Int? = 60, key: String? = nil) -> ValidatedMessage {
            let delivery: ValidatedMessage.Delivery =
                ttl.map { .stored(.init(ttl: $0, collapseKey: key, keepsDeadLetter: true)) } ?? .live
            return ValidatedMessage(users: users, payload: ByteBuffer(string: payload), delivery: delivery)
        }
        let base = IdempotencyFingerprint.make(endpoint: .message, entries: [.success(message(["a"], "x"))])
        #expect(base.count == 64)
        #expect(base == IdempotencyFingerprint.make(endpoint: .message, entries: [.success(message(["a"], "x"))]))
        let variants: [String] = [
            IdempotencyFingerprint.make(endpoint: .batch, entries: [.success(message(["a"], "x"))]),
            IdempotencyFingerprint.make(endpoint: .message, entries: [.success(message(["a"], "y"))]),
            IdempotencyFingerprint.make(endpoint: .message, entries: [.success(message(["b"], "x"))]),
            IdempotencyFingerprint.make(endpoint: .message, entries: [.success(message(["a"], "x", ttl: 61))]),
            IdempotencyFingerprint.make(endpoint: .message, entries: [.success(message(["a"], "x", key: "k"))]),
            IdempotencyFingerprint.make(endpoint: .message, entries: [.success(message(["a"], "x", ttl: nil))]),
            // Length prefixes keep field boundaries: ["ab"] is not ["a", "b"].
            IdempotencyFingerprint.make(endpoint: .message, entries: [.success(message(["a", "b"], "x"))]),
            IdempotencyFingerprint.make(endpoint: .message, entries: [.success(message(["ab"], "x"))]),
        ]
        #expect(Set(variants + [base]).count == variants.count + 1)
    }
}
