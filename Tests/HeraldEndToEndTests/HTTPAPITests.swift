import Foundation
import HeraldTestUtils
import HeraldWire
import Testing

/// The HTTP API against the real binary: answers and JSON errors.
@Suite("HTTP API", .sharedServer, .timeLimit(.minutes(1)))
struct HTTPAPITests {
    /// Checks an error answer: status, a JSON body `{"error": {"code", "message"}}`.
    private func expectError(_ response: APIResponse, status: Int, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(response.status == status, "\(response)", sourceLocation: sourceLocation)
        #expect(response.contentType?.hasPrefix("application/json") == true, "\(response.headers)", sourceLocation: sourceLocation)
        #expect(response.errorCode?.isEmpty == false, "no error.code in \(response)", sourceLocation: sourceLocation)
        #expect(response.errorMessage?.isEmpty == false, "no error.message in \(response)", sourceLocation: sourceLocation)
    }

    @Test("a wrong or missing app secret is 401 JSON")
    func wrongSecret() async throws {
        let harness = try await Harness.make()
        let path = "/v1/apps/\(harness.app.id)/messages"
        let body: JSONValue = ["users": ["alice"], "payload": "x", "qos": 0]
        expectError(try await harness.api.request("POST", path, bearer: "wrong", json: body), status: 401)
        expectError(try await harness.api.request("POST", path, json: body), status: 401)
        expectError(try await harness.api.request("POST", path, bearer: harness.server.adminKey + "x", json: body), status: 401)
        // Another app's secret does not open this app.
        let other = try await harness.api.createApp(prefix: "other")
        expectError(try await harness.api.request("POST", path, bearer: other.secret, json: body), status: 401)
    }

    @Test("admin endpoints refuse a wrong admin key with 401 JSON")
    func wrongAdminKey() async throws {
        let harness = try await Harness.make()
        expectError(try await harness.api.request("POST", "/v1/apps", bearer: "nope", json: ["id": "x1"]), status: 401)
        expectError(try await harness.api.request("GET", "/v1/apps", bearer: harness.app.secret), status: 401)
        expectError(try await harness.api.request("GET", "/v1/apps"), status: 401)
    }

    @Test("an unknown app is 401 JSON, the same answer as a wrong secret")
    func unknownApp() async throws {
        let harness = try await Harness.make()
        let body: JSONValue = ["users": ["alice"], "payload": "x", "qos": 0]
        let unknown = try await harness.api.request(
            "POST", "/v1/apps/no-such-app/messages", bearer: harness.app.secret, json: body)
        let wrongSecret = try await harness.api.request(
            "POST", "/v1/apps/\(harness.app.id)/messages", bearer: "wrong", json: body)
        expectError(unknown, status: 401)
        #expect(unknown.body == wrongSecret.body)
    }

    @Test("malformed JSON is 400 JSON", arguments: [
        "{not json",
        "",
        "[]",
        #"{"users": "alice", "payload": "x"}"#,
        #"{"users": ["alice"], "payload": 5}"#,
        #"{"users": ["alice"], "payloadBase64": "***not base64***"}"#,
    ])
    func malformedJSON(body: String) async throws {
        let harness = try await Harness.make()
        let response = try await harness.api.request(
            "POST",
            "/v1/apps/\(harness.app.id)/messages",
            bearer: harness.app.secret,
            body: Data(body.utf8)
        )
        expectError(response, status: 400)
    }

    @Test(
        "bad QoS 1 fields get JSON 400s and store nothing",
        arguments: [
            #"{"users": ["alice"], "payload": "x", "qos": 1, "ttl": 0}"#,
            #"{"users": ["alice"], "payload": "x", "qos": 1, "ttl": 99999999}"#,
            #"{"users": ["alice"], "payload": "x", "qos": 1, "ttl": "long"}"#,
            #"{"users": ["alice"], "payload": "x", "qos": 1, "ttl": 1.5}"#,
            #"{"users": ["alice"], "payload": "x", "qos": 1, "collapseKey": ""}"#,
            #"{"users": ["alice"], "payload": "x", "qos": 2}"#,
            #"{"users": ["alice"], "payload": "x", "qos": 0, "ttl": 60}"#,
        ]
    )
    func badStoredPushes(body: String) async throws {
        let harness = try await Harness.make()
        let response = try await harness.api.request(
            "POST",
            "/v1/apps/\(harness.app.id)/messages",
            bearer: harness.app.secret,
            body: Data(body.utf8)
        )
        expectError(response, status: 400)
        let status = try await harness.api.request("GET", "/v1/apps/\(harness.app.id)/users/alice", bearer: harness.app.secret)
        #expect(status.json?["inboxSeq"]?.int == 0, "a refused push used a sequence")
    }

    @Test("create, list and duplicate apps")
    func apps() async throws {
        let harness = try await Harness.make()
        #expect(harness.app.secret.count >= 32, "generated secrets must be long")
        #expect(try await harness.api.appIDs().contains(harness.app.id))
        let duplicate = try await harness.api.request("POST", "/v1/apps", bearer: harness.server.adminKey, json: ["id": .string(harness.app.id)])
        #expect((400..<500).contains(duplicate.status), "\(duplicate)")
        #expect(duplicate.errorCode != nil)
        let invalid = try await harness.api.request("POST", "/v1/apps", bearer: harness.server.adminKey, json: ["id": "has space/slash"])
        expectError(invalid, status: 400)
    }

    @Test("stats, dispatch and health answer JSON")
    func operations() async throws {
        let harness = try await Harness.make()
        let (_, _) = try await harness.connectAndAuth(.tcp, user: "alice")
        let stats = try await harness.api.stats(harness.app)
        #expect(stats.object != nil, "\(stats)")
        let dispatch = try await harness.api.dispatch(harness.app, user: "alice")
        let endpoints = try #require(dispatch["endpoints"]?.array, "\(dispatch)")
        #expect(endpoints.contains { $0["node"]?.string == harness.server.node })
        #expect(dispatch["reconnect"]?["baseMs"]?.int != nil, "\(dispatch)")
        #expect(try await harness.api.health() == 200)
        #expect(try await harness.api.request("GET", "/readyz").status == 200)
    }

    @Test("a token from the API carries what was asked")
    func tokenEndpoint() async throws {
        let harness = try await Harness.make()
        let response = try await harness.api.request(
            "POST",
            "/v1/apps/\(harness.app.id)/tokens",
            bearer: harness.app.secret,
            json: [:]
        )
        expectError(response, status: 400)
        let (_, ok) = try await harness.connectAndAuth(.webSocket, user: "bob", device: "watch")
        #expect(ok.user == "bob")
        #expect(ok.device == "watch")
    }
}
