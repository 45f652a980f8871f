#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// What a store reads, under its locks, before ``InboxPlanner`` plans a batch: the
/// inboxes the batch writes to and the idempotency records its keys name.
///
/// A store need not read whole inboxes: ``InboxPlanner/reads(lastSequences:)`` says which
/// stored messages the batch can reach; the others never change the plan.
public struct InboxState: Sendable {
    /// An idempotency record's address: the app and the backend's key.
    public struct RecordKey: Hashable, Sendable {
        public var app: String
        public var key: String

        public init(app: String, key: String) {
            self.app = app
            self.key = key
        }

        /// By bytes, as the stores key records (``ByteString``).
        public static func == (lhs: RecordKey, rhs: RecordKey) -> Bool {
            ByteString(lhs.app) == ByteString(rhs.app) && ByteString(lhs.key) == ByteString(rhs.key)
        }

        public func hash(into hasher: inout Hasher) {
            hasher.combine(ByteString(self.app))
            hasher.combine(ByteString(self.key))
        }
    }

    /// An idempotency record as stored.
    public struct Record: Sendable {
        public var fingerprint: String
        /// Nil when the stored result cannot be read: a retry within the window then fails.
        public var result: InboxAppendResult?
        public var createdAt: Date

        public init(fingerprint: String, result: InboxAppendResult?, createdAt: Date) {
            self.fingerprint = fingerprint
            self.result = result
            self.createdAt = createdAt
        }
    }

    /// A stored inbox message, as much of it as the rules need.
    public struct Entry: Sendable, Hashable {
        public var seq: UInt32
        public var collapseKey: String?
        public var keepsDeadLetter: Bool

        public init(seq: UInt32, collapseKey: String?, keepsDeadLetter: Bool) {
            self.seq = seq
            self.collapseKey = collapseKey
            self.keepsDeadLetter = keepsDeadLetter
        }
    }

    /// One inbox before the batch.
    public struct Inbox: Sendable {
        /// The user's newest sequence, 0 if none was ever given.
        public var lastSequence: UInt32
        /// The highest acknowledged cursor over the user's devices.
        public var acknowledged: UInt32
        /// Every stored message older than the `skipped` newest, in any order.
        public var oldest: [Entry]
        /// How many of the newest stored messages were not read (see ``InboxPlanner/Read``).
        public var skipped: Int
        /// Of the skipped messages, those with a collapse key the batch carries.
        public var collapsible: [Entry]

        /// An inbox read whole (`oldest` holds every stored message), or not read at all.
        public init(lastSequence: UInt32, acknowledged: UInt32 = 0, messages: [Entry] = []) {
            self.init(lastSequence: lastSequence, acknowledged: acknowledged, oldest: messages, skipped: 0, collapsible: [])
        }

        public init(lastSequence: UInt32, acknowledged: UInt32, oldest: [Entry], skipped: Int, collapsible: [Entry]) {
            self.lastSequence = lastSequence
            self.acknowledged = acknowledged
            self.oldest = oldest
            self.skipped = skipped
            self.collapsible = collapsible
        }
    }

    /// Inboxes absent here are new (no sequence given yet, nothing stored).
    public var inboxes: [InboxKey: Inbox]
    /// The records for the batch's keys; absent when none exists.
    public var records: [RecordKey: Record]

    public init(inboxes: [InboxKey: Inbox] = [:], records: [RecordKey: Record] = [:]) {
        self.inboxes = inboxes
        self.records = records
    }
}
