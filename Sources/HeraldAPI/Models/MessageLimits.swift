import HeraldCore

/// The API's bounds on the messages of a request (``APIConfiguration/messageLimits``), and the
/// checks that hold a decoded message or batch to them and to the app's policy.
struct MessageLimits: Sendable {
    /// Longest collapse key, in UTF-8 bytes.
    static let maximumCollapseKeyBytes = 128

    /// Most messages in one batch.
    var maxBatchMessages: Int
    /// Most users in one message.
    var maxUsersPerMessage: Int
    /// Largest payload, in bytes.
    var maxPayloadBytes: Int

    /// Checks one message against the limits and the app's policy.
    func validate(_ body: MessageRequest, policy: AppPolicy) throws(APIError) -> ValidatedMessage {
        let qos = body.qos ?? 0
        guard qos == 0 || qos == 1 else { throw APIError.badRequest("qos must be 0 or 1", code: "invalid_qos") }
        if qos == 0, body.ttl != nil || body.collapseKey != nil {
            throw APIError.badRequest("ttl and collapseKey apply to qos 1 messages only", code: "invalid_field")
        }
        guard let users = body.users else {
            throw APIError.badRequest("missing field \"users\"", code: "invalid_users")
        }
        guard (1...self.maxUsersPerMessage).contains(users.count) else {
            throw APIError.badRequest(
                "users must hold 1 to \(self.maxUsersPerMessage) user ids",
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
        let payload = try body.payload.bytes(limit: self.maxPayloadBytes)
        // A user named twice gets the message once; ids are the same only byte for byte, as
        // the stores and the gateway compare them (`zoë` composed and decomposed are two users).
        var seen = Set<ByteString>()
        let unique = users.filter { seen.insert(ByteString($0)).inserted }
        guard qos == 1 else { return ValidatedMessage(users: unique, payload: payload, delivery: .live) }

        let ttl = body.ttl ?? policy.defaultTTL
        guard (1...policy.maxTTL).contains(ttl) else {
            throw APIError.badRequest(
                "ttl must be 1 to \(policy.maxTTL) seconds (the app's maxTTL)", code: "invalid_ttl")
        }
        if let collapseKey = body.collapseKey,
            !(1...Self.maximumCollapseKeyBytes).contains(collapseKey.utf8.count)
        {
            throw APIError.badRequest(
                "collapseKey must be 1 to \(Self.maximumCollapseKeyBytes) bytes of UTF-8",
                code: "invalid_collapse_key"
            )
        }
        let stored = ValidatedMessage.Stored(
            ttl: ttl,
            collapseKey: body.collapseKey,
            keepsDeadLetter: policy.deadLetters == .keep
        )
        return ValidatedMessage(users: unique, payload: payload, delivery: .stored(stored))
    }

    /// Checks a batch's size, then each of its messages: an invalid one gets its own error.
    func validate(_ batch: BatchRequest, policy: AppPolicy) throws(APIError) -> [Result<ValidatedMessage, APIError>] {
        guard (1...self.maxBatchMessages).contains(batch.messages.count) else {
            throw APIError.badRequest(
                "messages must hold 1 to \(self.maxBatchMessages) messages",
                code: "invalid_messages"
            )
        }
        var entries: [Result<ValidatedMessage, APIError>] = []
        entries.reserveCapacity(batch.messages.count)
        for entry in batch.messages {
            do throws(APIError) {
                entries.append(.success(try self.validate(try entry.message.get(), policy: policy)))
            } catch {
                entries.append(.failure(error))
            }
        }
        return entries
    }
}
