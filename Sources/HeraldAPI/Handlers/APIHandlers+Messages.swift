import HeraldCore
import Hummingbird
import NIOCore

extension APIHandlers {
    /// Longest time a broadcast may ask to be kept for replay.
    static let maximumBroadcastTTLSeconds = 30 * 24 * 3600

    func sendMessages(_ request: Request, context: some RequestContext) async throws -> Response {
        let app = try await self.authorizedApp(request, context: context)
        let body = try await RequestDecoding.decode(
            MessageRequest.self,
            from: request,
            limit: self.configuration.maxRequestBodyBytes
        )
        let message = try self.validate(body)
        return JSONResponse.make(.ok, await self.send(message, app: app.id))
    }

    func sendBatch(_ request: Request, context: some RequestContext) async throws -> Response {
        let app = try await self.authorizedApp(request, context: context)
        let body = try await RequestDecoding.decode(
            BatchRequest.self,
            from: request,
            limit: self.configuration.maxRequestBodyBytes
        )
        guard (1...self.configuration.maxBatchMessages).contains(body.messages.count) else {
            throw APIError.badRequest(
                "messages must hold 1 to \(self.configuration.maxBatchMessages) messages",
                code: "invalid_messages"
            )
        }
        var results: [BatchResponse.Result] = []
        results.reserveCapacity(body.messages.count)
        for entry in body.messages {
            do throws(APIError) {
                let message = try self.validate(try entry.message.get())
                results.append(.sent(await self.send(message, app: app.id)))
            } catch {
                results.append(.failed(error))
            }
        }
        return JSONResponse.make(.ok, BatchResponse(results: results))
    }

    func broadcast(_ request: Request, context: some RequestContext) async throws -> Response {
        let app = try await self.authorizedApp(request, context: context)
        let body = try await RequestDecoding.decode(
            BroadcastRequest.self,
            from: request,
            limit: self.configuration.maxRequestBodyBytes
        )
        let payload = try body.payload.bytes(limit: self.configuration.maxPayloadBytes())
        if let ttl = body.ttl, !(1...Self.maximumBroadcastTTLSeconds).contains(ttl) {
            throw APIError.badRequest(
                "ttl must be 1 to \(Self.maximumBroadcastTTLSeconds) seconds",
                code: "invalid_ttl"
            )
        }
        let ttl: Duration? = body.ttl.map { .seconds($0) }
        let seq = try await self.storeCall("append broadcast") {
            try await self.dependencies.store.appendBroadcast(app: app.id, payload: payload, ttl: ttl)
        }
        self.dependencies.replay.noteBroadcast(app: app.id, seq: seq)
        let sessions = await self.dependencies.delivery.broadcast(app: app.id, seq: seq, payload: payload)
        self.record(app: app.id, kind: "broadcast", accepted: 1, sessions: sessions)
        return JSONResponse.make(.ok, BroadcastResponse(seq: seq, sessions: sessions))
    }

    func publishTopic(_ request: Request, context: some RequestContext) async throws -> Response {
        let app = try await self.authorizedApp(request, context: context)
        let topic = try self.pathParameter("topic", context: context)
        guard Topic.isValidName(topic) else {
            throw APIError.badRequest(
                "topic names are 1 to \(Topic.maximumLength) bytes without *",
                code: "invalid_topic"
            )
        }
        let body = try await RequestDecoding.decode(
            TopicMessageRequest.self,
            from: request,
            limit: self.configuration.maxRequestBodyBytes
        )
        let payload = try body.payload.bytes(limit: self.configuration.maxPayloadBytes(topicBytes: topic.utf8.count))
        let sessions = await self.dependencies.delivery.publish(app: app.id, topic: topic, payload: payload)
        self.record(app: app.id, kind: "topic", accepted: 1, sessions: sessions)
        return JSONResponse.make(.ok, SessionsResponse(sessions: sessions))
    }

    // MARK: Helpers

    /// A user message that passed validation.
    struct ValidatedMessage: Sendable {
        var users: [String]
        var payload: ByteBuffer
    }

    /// Checks one message; QoS 1 is refused with 501 until durable delivery exists, never
    /// silently sent as QoS 0.
    func validate(_ body: MessageRequest) throws(APIError) -> ValidatedMessage {
        let qos = body.qos ?? 0
        guard qos == 0 || qos == 1 else { throw APIError.badRequest("qos must be 0 or 1", code: "invalid_qos") }
        if qos == 1 {
            throw APIError(
                .notImplemented,
                "qos1_not_implemented",
                "qos 1 (stored, acknowledged delivery) is not implemented on this server yet; send with qos 0"
            )
        }
        if body.ttl != nil || body.collapseKey != nil {
            throw APIError.badRequest("ttl and collapseKey apply to qos 1 messages only", code: "invalid_field")
        }
        guard let users = body.users else {
            throw APIError.badRequest("missing field \"users\"", code: "invalid_users")
        }
        guard (1...self.configuration.maxUsersPerMessage).contains(users.count) else {
            throw APIError.badRequest(
                "users must hold 1 to \(self.configuration.maxUsersPerMessage) user ids",
                code: "invalid_users"
            )
        }
        for user in users {
            guard !user.isEmpty, user.utf8.count <= TokenClaims.maximumIdentifierLength else {
                throw APIError.badRequest(
                    "each user id must be 1 to \(TokenClaims.maximumIdentifierLength) bytes",
                    code: "invalid_users"
                )
            }
        }
        let payload = try body.payload.bytes(limit: self.configuration.maxPayloadBytes())
        // A user named twice gets the message once.
        var seen = Set<String>()
        let unique = users.filter { seen.insert($0).inserted }
        return ValidatedMessage(users: unique, payload: payload)
    }

    func send(_ message: ValidatedMessage, app: String) async -> MessageResponse {
        let sessions = await self.dependencies.delivery.sendToUsers(
            app: app,
            users: message.users,
            payload: message.payload
        )
        self.record(app: app, kind: "user", accepted: 1, sessions: sessions)
        return MessageResponse(messages: message.users.map { .init(user: $0, seq: 0) }, sessions: sessions)
    }

    func record(app: String, kind: String, accepted: Int, sessions: Int) {
        self.statistics.record(app: app, accepted: accepted, delivered: sessions)
        self.metrics.countAccepted(app: app, kind: kind, messages: accepted)
        self.metrics.countDeliveries(app: app, kind: kind, sessions: sessions)
    }
}
