import NIOCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// One call's worth of QoS 1 messages for ``MessageStore/appendInbox(_:)``.
public struct InboxAppend: Sendable {
    /// How long an idempotency record answers retries.
    public static let idempotencyWindow: Duration = .seconds(24 * 3600)

    public var app: String
    /// In order; each stored for each of its users.
    public var messages: [InboxMessage]
    /// The backend's `Idempotency-Key` and the fingerprint of its request, if given.
    public var idempotency: IdempotencyKey?
    /// Kept messages per user; past it the oldest leave (the app's policy).
    public var inboxLimit: Int
    public var now: Date

    public init(app: String, messages: [InboxMessage], idempotency: IdempotencyKey? = nil, inboxLimit: Int, now: Date) {
        self.app = app
        self.messages = messages
        self.idempotency = idempotency
        self.inboxLimit = inboxLimit
        self.now = now
    }
}

/// A QoS 1 message to store in the inbox of each of its users.
public struct InboxMessage: Sendable, Hashable {
    /// Distinct user ids, in the order their sequences are returned.
    public var users: [String]
    public var payload: ByteBuffer
    /// Already checked against the app's maximum.
    public var ttl: Duration
    /// Replaces the user's kept messages with the same key (FCM's collapse key).
    public var collapseKey: String?
    /// Whether the message becomes a dead letter when it dies unacknowledged, or is dropped.
    public var keepsDeadLetter: Bool

    public init(users: [String], payload: ByteBuffer, ttl: Duration, collapseKey: String? = nil, keepsDeadLetter: Bool = true) {
        self.users = users
        self.payload = payload
        self.ttl = ttl
        self.collapseKey = collapseKey
        self.keepsDeadLetter = keepsDeadLetter
    }
}

/// A backend's `Idempotency-Key` with the fingerprint of the request it came with.
public struct IdempotencyKey: Sendable, Hashable {
    /// The header's value (1 to 255 bytes).
    public var key: String
    /// A digest of everything that makes the request what it is (users, payload, qos, ttl,
    /// collapse key): a retry must match it.
    public var fingerprint: String

    public init(key: String, fingerprint: String) {
        self.key = key
        self.fingerprint = fingerprint
    }
}

/// What ``MessageStore/appendInbox(_:)`` gave.
public struct InboxAppendResult: Sendable, Hashable, Codable {
    /// Per message of the call, the sequence given to each of its users, in order.
    public var messages: [[UserSequence]]
    /// True when this answers a retry from its idempotency record: nothing was stored now.
    public var replayed: Bool
    /// Messages this call pushed past the inbox bound into dead letters (reason `inbox_full`);
    /// 0 when the result is replayed from an idempotency record.
    public var deadLettered: Int

    public init(messages: [[UserSequence]], replayed: Bool = false, deadLettered: Int = 0) {
        self.messages = messages
        self.replayed = replayed
        self.deadLettered = deadLettered
    }

    private enum CodingKeys: String, CodingKey {
        case messages, replayed, deadLettered
    }

    /// Tolerates records written before `deadLettered` existed.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.messages = try container.decode([[UserSequence]].self, forKey: .messages)
        self.replayed = try container.decode(Bool.self, forKey: .replayed)
        self.deadLettered = try container.decodeIfPresent(Int.self, forKey: .deadLettered) ?? 0
    }

    /// The result as an idempotency record answers a retry: nothing stored, nothing dead-lettered now.
    public var asReplayed: InboxAppendResult {
        var result = self
        result.replayed = true
        result.deadLettered = 0
        return result
    }
}

/// A user and the inbox sequence their copy of a message got.
public struct UserSequence: Sendable, Hashable, Codable {
    public var user: String
    public var seq: UInt32

    public init(user: String, seq: UInt32) {
        self.user = user
        self.seq = seq
    }
}
