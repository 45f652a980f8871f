import NIOCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// A QoS 1 message that died before any device of its user acknowledged it.
public struct DeadLetter: Sendable, Hashable {
    /// Orders dead letters of an app (newer is larger) and pages them.
    public var id: Int64
    public var app: String
    public var user: String
    public var seq: UInt32
    public var payload: ByteBuffer
    public var reason: DeadLetterReason
    /// When the message was stored.
    public var createdAt: Date
    /// When it died.
    public var diedAt: Date

    public init(
        id: Int64,
        app: String,
        user: String,
        seq: UInt32,
        payload: ByteBuffer,
        reason: DeadLetterReason,
        createdAt: Date,
        diedAt: Date
    ) {
        self.id = id
        self.app = app
        self.user = user
        self.seq = seq
        self.payload = payload
        self.reason = reason
        self.createdAt = createdAt
        self.diedAt = diedAt
    }
}

/// Why a message died.
public enum DeadLetterReason: String, Sendable, Hashable, Codable, CaseIterable {
    /// Its TTL passed.
    case expired
    /// Newer messages pushed it past the user's inbox bound.
    case inboxFull = "inbox_full"
}

/// One page of ``MessageStore/deadLetters(app:before:limit:)``.
public struct DeadLetterPage: Sendable, Hashable {
    /// Newest first.
    public var deadLetters: [DeadLetter]
    /// Pass as `before` for the next page; nil on the last page.
    public var next: Int64?

    public init(deadLetters: [DeadLetter], next: Int64?) {
        self.deadLetters = deadLetters
        self.next = next
    }
}

/// What one ``MessageStore/purge(now:deadLetterLimit:chunk:)`` call removed.
public struct PurgeReport: Sendable, Hashable {
    /// Expired inbox messages that became dead letters.
    public var deadLettered: Int
    /// Expired inbox messages removed without a dead letter (acknowledged, or the app drops).
    public var expired: Int
    /// Broadcasts removed from logs.
    public var broadcasts: Int
    /// Dead letters removed past the per-app bound.
    public var deadLettersTrimmed: Int
    /// Idempotency records past their window.
    public var idempotencyRecords: Int

    /// False when some kind hit the call's chunk: more may be left to purge.
    public var isComplete: Bool

    public init(
        deadLettered: Int = 0, expired: Int = 0, broadcasts: Int = 0, deadLettersTrimmed: Int = 0,
        idempotencyRecords: Int = 0, isComplete: Bool = true
    ) {
        self.isComplete = isComplete
        self.deadLettered = deadLettered
        self.expired = expired
        self.broadcasts = broadcasts
        self.deadLettersTrimmed = deadLettersTrimmed
        self.idempotencyRecords = idempotencyRecords
    }

    /// Adds a later chunk's counts to this one's.
    public mutating func add(_ other: PurgeReport) {
        self.deadLettered += other.deadLettered
        self.expired += other.expired
        self.broadcasts += other.broadcasts
        self.deadLettersTrimmed += other.deadLettersTrimmed
        self.idempotencyRecords += other.idempotencyRecords
        self.isComplete = other.isComplete
    }

    /// Sets ``isComplete`` from each kind's count against the call's chunk.
    public mutating func noteChunk(_ chunk: Int) {
        self.isComplete = [
            self.deadLettered + self.expired, self.broadcasts, self.deadLettersTrimmed, self.idempotencyRecords,
        ].allSatisfy { $0 < chunk }
    }
}
