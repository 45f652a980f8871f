import HTTPTypes
import HeraldCore
import Hummingbird
import NIOCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

extension APIHandlers {
    /// Longest `Idempotency-Key`, in bytes.
    static let maximumIdempotencyKeyBytes = 255

    /// One message. QoS 1 is stored first and answered with its sequences only once the
    /// store has committed it; then it goes to the users' online sessions.
    func sendMessages(_ request: Request, app: App) async throws -> Response {
        let key = try self.idempotencyKey(request)
        let body = try await RequestDecoding.decode(
            MessageRequest.self,
            from: request,
            limit: self.configuration.maxRequestBodyBytes,
            plain: MessageRequest.plain
        )
        let message = try self.configuration.messageLimits.validate(body, policy: app.policy)
        guard case .stored(let stored) = message.delivery else {
            if key != nil { throw APIError.idempotencyKeyWithoutStoredMessages() }
            return JSONResponse.make(.ok, await self.send(message, app: app.id))
        }
        let idempotency = key.map { key in
            let fingerprint = IdempotencyFingerprint.make(endpoint: .message, entries: [.success(message)])
            return IdempotencyKey(key: key, fingerprint: fingerprint)
        }
        let result = try await self.appendInbox(
            [InboxMessage(message, stored)],
            app: app,
            idempotency: idempotency
        )
        guard result.messages.count == 1, let sequences = result.messages.first else {
            throw APIError.mismatchedStoreResult()
        }
        if result.replayed {
            return Self.replayed(MessageResponse(sequences: sequences, sessions: 0))
        }
        return JSONResponse.make(.ok, await self.sendStored(message, sequences: sequences, app: app.id))
    }

    /// Several messages, each answered in order. The QoS 1 ones are stored together in one
    /// atomic store call before anything is sent; if that call fails the whole request
    /// fails and nothing is sent. An invalid entry gets its own error and the others go.
    func sendBatch(_ request: Request, app: App) async throws -> Response {
        let key = try self.idempotencyKey(request)
        let body = try await RequestDecoding.decode(
            BatchRequest.self,
            from: request,
            limit: self.configuration.maxRequestBodyBytes,
            plain: BatchRequest.plain
        )
        let entries = try self.configuration.messageLimits.validate(body, policy: app.policy)
        // The key is refused when no entry asks for QoS 1, valid or not; a batch whose QoS 1
        // entries are all invalid stores nothing, so it keeps no idempotency record either.
        let asksForStorage = body.messages.contains { (try? $0.message.get())?.qos == 1 }
        if key != nil, !asksForStorage { throw APIError.idempotencyKeyWithoutStoredMessages() }

        let stored: [InboxMessage] = entries.compactMap { entry in
            guard case .success(let message) = entry, case .stored(let settings) = message.delivery else { return nil }
            return InboxMessage(message, settings)
        }
        var sequences: [[UserSequence]] = []
        var replayed = false
        if !stored.isEmpty {
            let idempotency = key.map {
                IdempotencyKey(key: $0, fingerprint: IdempotencyFingerprint.make(endpoint: .batch, entries: entries))
            }
            let result = try await self.appendInbox(stored, app: app, idempotency: idempotency)
            guard result.messages.count == stored.count else { throw APIError.mismatchedStoreResult() }
            sequences = result.messages
            replayed = result.replayed
        }

        // Everything sent goes to the gateway in one call (one hop per event loop); a replay
        // sends nothing again, QoS 0 included: the retry is a no-op.
        var deliveries: [UserDelivery] = []
        var nextStored = sequences.makeIterator()
        var sent: [(message: ValidatedMessage, sequences: [UserSequence]?)] = []
        for entry in entries {
            guard case .success(let message) = entry else { continue }
            switch message.delivery {
            case .live:
                sent.append((message, nil))
                deliveries.append(.live(users: message.users, payload: message.payload))
            case .stored:
                guard let userSequences = nextStored.next() else { throw APIError.mismatchedStoreResult() }
                sent.append((message, userSequences))
                deliveries.append(.stored(deliveries: userSequences, payload: message.payload))
            }
        }
        let sessions =
            replayed
            ? [Int](repeating: 0, count: deliveries.count)
            : await self.dependencies.delivery.sendUserMessages(app: app.id, deliveries)
        var results: [BatchResponse.Result] = []
        results.reserveCapacity(entries.count)
        var nextSent = zip(sent, sessions).makeIterator()
        // Counted once for the whole batch: a counter looked up per message cost more than
        // the message's write.
        var accepted = 0
        var written = 0
        for entry in entries {
            switch entry {
            case .failure(let error):
                results.append(.failed(error))
            case .success:
                guard let ((message, userSequences), count) = nextSent.next() else {
                    throw APIError.mismatchedStoreResult()
                }
                accepted += 1
                written += count
                if let userSequences {
                    results.append(.sent(MessageResponse(sequences: userSequences, sessions: count)))
                } else {
                    results.append(
                        .sent(MessageResponse(messages: message.users.map { .init(user: $0, seq: 0) }, sessions: count))
                    )
                }
            }
        }
        if !replayed, accepted > 0 { self.record(app: app.id, kind: "user", accepted: accepted, sessions: written) }
        let response = BatchResponse(results: results)
        return replayed ? Self.replayed(response) : JSONResponse.make(.ok, response)
    }

    func broadcast(_ request: Request, app: App) async throws -> Response {
        let body = try await RequestDecoding.decode(
            BroadcastRequest.self,
            from: request,
            limit: self.configuration.maxRequestBodyBytes
        )
        let payload = try body.payload.bytes(limit: self.configuration.maxPayloadBytes())
        let ttl = body.ttl ?? app.policy.broadcastTTL
        guard (1...app.policy.maxTTL).contains(ttl) else {
            throw APIError.badRequest(
                "ttl must be 1 to \(app.policy.maxTTL) seconds (the app's maxTTL)",
                code: "invalid_ttl"
            )
        }
        // Numbered and handed over in one turn of the app's, so that the gateway receives the
        // app's broadcasts in sequence order.
        let (seq, sessions) = try await self.broadcastOrder.run(app.id) {
            let seq = try await self.storeCall("append broadcast") {
                try await self.dependencies.store.appendBroadcast(
                    app: app.id,
                    payload: payload,
                    ttl: .seconds(ttl),
                    keep: app.policy.broadcastLimit,
                    now: Date()
                )
            }
            return (seq, await self.dependencies.delivery.broadcast(app: app.id, seq: seq, payload: payload))
        }
        self.record(app: app.id, kind: "broadcast", accepted: 1, sessions: sessions)
        return JSONResponse.make(.ok, BroadcastResponse(seq: seq, sessions: sessions))
    }

    func publishTopic(_ request: Request, app: App, context: some RequestContext) async throws -> Response {
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

    /// The request's `Idempotency-Key`: one header of 1 to 255 printable ASCII bytes.
    func idempotencyKey(_ request: Request) throws(APIError) -> String? {
        let values = request.headers.filter { $0.name.canonicalName == "idempotency-key" }.map(\.value)
        guard let value = values.first else { return nil }
        guard values.count == 1 else {
            throw APIError.badRequest("give one Idempotency-Key header", code: "invalid_idempotency_key")
        }
        let printable = value.utf8.allSatisfy { (0x20...0x7e).contains($0) }
        guard printable, (1...Self.maximumIdempotencyKeyBytes).contains(value.utf8.count) else {
            throw APIError.badRequest(
                "Idempotency-Key must be 1 to \(Self.maximumIdempotencyKeyBytes) printable ASCII characters",
                code: "invalid_idempotency_key"
            )
        }
        return value
    }

    /// Stores QoS 1 messages in one atomic call under the app's inbox bound.
    func appendInbox(_ messages: [InboxMessage], app: App, idempotency: IdempotencyKey?) async throws
        -> InboxAppendResult
    {
        let append = InboxAppend(
            app: app.id,
            messages: messages,
            idempotency: idempotency,
            inboxLimit: app.policy.inboxLimit,
            now: Date()
        )
        let result = try await self.storeCall("append to inbox") {
            try await self.dependencies.store.appendInbox(append)
        }
        // A replay stored nothing now: its dead letters were counted the first time.
        if !result.replayed { self.metrics.countInboxFullDeadLetters(result.deadLettered) }
        return result
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

    /// Fans a stored message out; called only after the store returned its sequences.
    func sendStored(_ message: ValidatedMessage, sequences: [UserSequence], app: String) async -> MessageResponse {
        let sessions = await self.dependencies.delivery.sendStored(
            app: app,
            deliveries: sequences,
            payload: message.payload
        )
        self.record(app: app, kind: "user", accepted: 1, sessions: sessions)
        return MessageResponse(sequences: sequences, sessions: sessions)
    }

    /// An answer given from an idempotency record, marked `Idempotent-Replayed: true`.
    static func replayed(_ value: some Encodable) -> Response {
        var response = JSONResponse.make(.ok, value)
        if let name = HTTPField.Name("Idempotent-Replayed") { response.headers[name] = "true" }
        return response
    }

    func record(app: String, kind: String, accepted: Int, sessions: Int) {
        self.statistics.record(app: app, accepted: accepted, delivered: sessions)
        self.metrics.countAccepted(app: app, kind: kind, messages: accepted)
        self.metrics.countDeliveries(app: app, kind: kind, sessions: sessions)
    }
}
