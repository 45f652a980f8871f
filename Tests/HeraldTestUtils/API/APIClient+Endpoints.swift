import Foundation

extension APIClient {
    /// `POST /v1/messages` answer.
    public struct PushResult: Sendable, Decodable {
        public struct Message: Sendable, Decodable {
            public var user: String
            public var seq: Int?
        }

        public var messages: [Message]?
        /// Sessions the message was written to.
        public var sessions: Int
    }

    /// `POST /v1/apps/{app}/broadcasts` answer.
    public struct BroadcastResult: Sendable, Decodable {
        public var seq: Int
        public var sessions: Int
    }

    /// `GET /v1/apps/{app}/users/{user}` answer.
    public struct UserStatus: Sendable, Decodable {
        public struct Session: Sendable, Decodable {
            public var device: String
            public var node: String
        }

        public var online: Bool
        public var sessions: [Session]
    }

    private struct TokenAnswer: Decodable {
        var token: String
    }

    private struct SessionsAnswer: Decodable {
        var sessions: Int
    }

    private struct KickAnswer: Decodable {
        var kicked: Int
    }

    // MARK: Apps (admin)

    /// `POST /v1/apps`: creates an app and returns its id and secret.
    public func createApp(_ id: String, secret: String? = nil) async throws -> AppCredentials {
        var body: [String: JSONValue] = ["id": .string(id)]
        if let secret { body["secret"] = .string(secret) }
        return try await self.call("POST", "/v1/apps", bearer: self.adminKey, json: .object(body), expecting: [201])
            .decode(AppCredentials.self)
    }

    /// `POST /v1/apps` with a fresh unique id.
    public func createApp(prefix: String = "app") async throws -> AppCredentials {
        try await self.createApp("\(prefix)-\(UUID().uuidString.prefix(8).lowercased())")
    }

    /// `GET /v1/apps`: the ids of the apps, whether the answer is a list or `{"apps": [...]}`.
    public func appIDs() async throws -> [String] {
        let json = try await self.call("GET", "/v1/apps", bearer: self.adminKey).json
        let list = json?.array ?? json?["apps"]?.array ?? []
        return list.compactMap { $0["id"]?.string }
    }

    // MARK: Tokens

    /// `POST /v1/apps/{app}/tokens`: a client token for `user`.
    public func token(
        _ app: AppCredentials,
        user: String,
        device: String? = nil,
        topics: [String]? = nil,
        ttl: Int? = nil
    ) async throws -> String {
        var body: [String: JSONValue] = ["user": .string(user)]
        if let device { body["device"] = .string(device) }
        if let topics { body["topics"] = .array(topics.map(JSONValue.string)) }
        if let ttl { body["ttl"] = .number(Double(ttl)) }
        return try await self.call(
            "POST",
            "/v1/apps/\(app.id)/tokens",
            bearer: app.secret,
            json: .object(body),
            expecting: [200, 201]
        ).decode(TokenAnswer.self).token
    }

    // MARK: Delivery

    /// `POST /v1/apps/{app}/messages`: a user message.
    public func push(
        _ app: AppCredentials,
        users: [String],
        payload: Payload,
        qos: Int = 0,
        ttl: Int? = nil,
        collapseKey: String? = nil,
        idempotencyKey: String? = nil
    ) async throws -> PushResult {
        var body = payload.members
        body["users"] = .array(users.map(JSONValue.string))
        body["qos"] = .number(Double(qos))
        if let ttl { body["ttl"] = .number(Double(ttl)) }
        if let collapseKey { body["collapseKey"] = .string(collapseKey) }
        return try await self.call(
            "POST",
            "/v1/apps/\(app.id)/messages",
            bearer: app.secret,
            json: .object(body),
            headers: idempotencyKey.map { ["Idempotency-Key": $0] } ?? [:],
            expecting: [200, 201, 202]
        ).decode(PushResult.self)
    }

    /// `POST /v1/apps`: an app with a delivery policy (`inboxLimit`, `defaultTTL`, ...).
    public func createApp(prefix: String = "app", policy: JSONValue) async throws -> AppCredentials {
        let id = "\(prefix)-\(UUID().uuidString.prefix(8).lowercased())"
        return try await self.call(
            "POST",
            "/v1/apps",
            bearer: self.adminKey,
            json: .object(["id": .string(id), "policy": policy]),
            expecting: [201]
        ).decode(AppCredentials.self)
    }

    /// `GET /v1/apps/{app}/dead-letters`: the answer's JSON.
    public func deadLetters(_ app: AppCredentials, query: String = "") async throws -> JSONValue {
        let response = try await self.call("GET", "/v1/apps/\(app.id)/dead-letters\(query)", bearer: app.secret)
        guard let json = response.json else { throw APIClientError("dead letters: not JSON", response: response) }
        return json
    }

    /// `POST /v1/apps/{app}/broadcasts`.
    public func broadcast(_ app: AppCredentials, payload: Payload) async throws -> BroadcastResult {
        try await self.call(
            "POST",
            "/v1/apps/\(app.id)/broadcasts",
            bearer: app.secret,
            json: .object(payload.members),
            expecting: [200, 201, 202]
        ).decode(BroadcastResult.self)
    }

    /// `POST /v1/apps/{app}/topics/{topic}/messages`; returns the sessions reached.
    public func publish(_ app: AppCredentials, topic: String, payload: Payload) async throws -> Int {
        try await self.call(
            "POST",
            "/v1/apps/\(app.id)/topics/\(Self.escape(topic))/messages",
            bearer: app.secret,
            json: .object(payload.members),
            expecting: [200, 201, 202]
        ).decode(SessionsAnswer.self).sessions
    }

    // MARK: Users

    /// `GET /v1/apps/{app}/users/{user}`.
    public func userStatus(_ app: AppCredentials, user: String) async throws -> UserStatus {
        try await self.call("GET", "/v1/apps/\(app.id)/users/\(Self.escape(user))", bearer: app.secret)
            .decode(UserStatus.self)
    }

    /// `DELETE /v1/apps/{app}/users/{user}/sessions[?device=]`; returns how many sessions were kicked.
    public func kick(_ app: AppCredentials, user: String, device: String? = nil) async throws -> Int {
        var path = "/v1/apps/\(app.id)/users/\(Self.escape(user))/sessions"
        if let device { path += "?device=\(Self.escape(device))" }
        return try await self.call("DELETE", path, bearer: app.secret).decode(KickAnswer.self).kicked
    }

    // MARK: Operations

    /// `GET /v1/apps/{app}/stats`.
    public func stats(_ app: AppCredentials) async throws -> JSONValue {
        try await self.call("GET", "/v1/apps/\(app.id)/stats", bearer: app.secret).decode(JSONValue.self)
    }

    /// `GET /v1/dispatch?app=&user=`.
    public func dispatch(_ app: AppCredentials, user: String) async throws -> JSONValue {
        try await self.call(
            "GET",
            "/v1/dispatch?app=\(Self.escape(app.id))&user=\(Self.escape(user))",
            bearer: app.secret
        ).decode(JSONValue.self)
    }

    /// The status of `GET /healthz`.
    public func health() async throws -> Int {
        try await self.request("GET", "/healthz").status
    }

    /// Percent-encodes a path segment or query value.
    static func escape(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
    }
}
