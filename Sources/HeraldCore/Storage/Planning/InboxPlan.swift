#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Everything one batch of ``InboxAppend`` requests writes, as ``InboxPlanner`` works it
/// out: a store carries it out as it likes (one statement per kind of row, say), in this
/// order: dead letters (they copy stored rows), replacements and removals, insertions,
/// inbox sequences and watermarks, idempotency records.
public struct InboxPlan: Sendable {
    /// A new message that stays in its inbox.
    public struct Insertion: Sendable, Hashable {
        public var key: InboxKey
        public var seq: UInt32
        /// Indices into the batch and into the request's messages.
        public var request: Int
        public var message: Int
    }

    /// Stored messages (from before the batch) of an inbox with this collapse key leave.
    public struct Replacement: Sendable, Hashable {
        public var key: InboxKey
        public var collapseKey: String

        public init(key: InboxKey, collapseKey: String) {
            self.key = key
            self.collapseKey = collapseKey
        }
    }

    /// A stored message (from before the batch) pushed out by the inbox bound.
    public struct Removal: Sendable, Hashable {
        public var key: InboxKey
        public var seq: UInt32
    }

    /// A message that becomes a dead letter `inbox_full`.
    public struct DeadLetterEntry: Sendable, Hashable {
        /// Where the payload and creation time come from.
        public enum Source: Sendable, Hashable {
            /// A stored row, read before it is removed.
            case stored
            /// A message of the batch that the batch itself pushed out (never inserted).
            case batch(request: Int, message: Int)
        }

        public var key: InboxKey
        public var seq: UInt32
        public var source: Source
        /// The `now` of the request whose message pushed it out.
        public var diedAt: Date
    }

    /// An idempotency record to write (insert, or replace one past its window).
    public struct Record: Sendable {
        public var app: String
        public var key: String
        public var fingerprint: String
        public var result: InboxAppendResult
        public var createdAt: Date
    }

    /// One per request of the batch, in order.
    public var results: [Result<InboxAppendResult, MessageStoreError>] = []
    /// In batch order (request, message, user).
    public var insertions: [Insertion] = []
    /// One per inbox and key.
    public var replacements: [Replacement] = []
    public var removals: [Removal] = []
    /// In the order their ids must be given.
    public var deadLetters: [DeadLetterEntry] = []
    /// Each written inbox's newest sequence once the batch is stored.
    public var lastSequences: [InboxKey: UInt32] = [:]
    /// The highest sequence each inbox lost to its bound, for the inboxes that lost any.
    public var lostThrough: [InboxKey: UInt32] = [:]
    /// At most one per key, the last written.
    public var records: [Record] = []

    /// Whether some request ran out of sequence numbers.
    public var exhaustsSequence: Bool {
        self.results.contains { result in
            if case .failure(.sequenceExhausted) = result { return true }
            return false
        }
    }
}
