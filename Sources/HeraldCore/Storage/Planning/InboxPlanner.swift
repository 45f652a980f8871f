#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The rules of ``MessageStore/appendInbox(_:)`` for a batch of requests, as pure values:
/// given the batch and the state read for it (``InboxState``), the plan says exactly what
/// to write (``InboxPlan``) for the outcome of running the requests one after another,
/// message by message, each message for its users in order.
///
/// Per request: an idempotency key answers from a record younger than the window (the
/// batch's own earlier requests first), a different fingerprint is a conflict; a request
/// that would take a sequence past `UInt32.max` fails alone. Per message and user: the
/// user's kept messages with the message's collapse key leave (replaced, not lost), the
/// message is added, and past the inbox limit the oldest leave, raising the lost watermark,
/// as dead letters `inbox_full` when their policy keeps them and no device acknowledged
/// them. The limit is at least 1 (``minimumInboxLimit``).
///
/// A store uses it in three steps: create the planner with the batch's idempotency records,
/// read what ``reads(lastSequences:)`` asks for under its locks, then ``plan(_:)``.
public struct InboxPlanner: Sendable {
    /// The smallest inbox limit a store applies, as ``AppPolicy/inboxLimitRange`` allows: a
    /// QoS 1 message the API accepted is kept at least until a newer one replaces it.
    public static let minimumInboxLimit = AppPolicy.inboxLimitRange.lowerBound

    /// What to read of an inbox the batch may trim.
    public struct Read: Sendable, Hashable {
        /// How many of the newest stored messages no step can trim: read the older ones.
        public var skip: Int
        /// Of the skipped messages, read those with one of these collapse keys.
        public var collapseKeys: [String]

        public init(skip: Int, collapseKeys: [String]) {
            self.skip = skip
            self.collapseKeys = collapseKeys
        }
    }

    public let batch: [InboxAppend]
    /// The requests that write when no sequence runs out, in order.
    public private(set) var writers: [Int] = []
    /// The inboxes the writers add to, in the order they first appear.
    public private(set) var inboxes: [InboxKey] = []
    /// Per inbox, the messages the writers add to it.
    public private(set) var copies: [InboxKey: Int] = [:]
    private var limits: [InboxKey: Int] = [:]
    private var collapseKeys: [InboxKey: [String]] = [:]

    /// Works out which requests write, from the batch's idempotency records.
    public init(batch: [InboxAppend], records: [InboxState.RecordKey: InboxState.Record]) {
        self.batch = batch
        var written: [InboxState.RecordKey: (fingerprint: String, createdAt: Date)] = [:]
        for (index, append) in batch.enumerated() {
            if let idempotency = append.idempotency {
                let key = InboxState.RecordKey(app: append.app, key: idempotency.key)
                if Self.answers(written[key]?.createdAt ?? records[key]?.createdAt, now: append.now) { continue }
                written[key] = (idempotency.fingerprint, append.now)
            }
            self.writers.append(index)
            let limit = Self.limit(append)
            for message in append.messages {
                for user in message.users {
                    let key = InboxKey(app: append.app, user: user)
                    if let count = self.copies[key] {
                        self.copies[key] = count + 1
                        self.limits[key] = min(self.limits[key] ?? limit, limit)
                    } else {
                        self.inboxes.append(key)
                        self.copies[key] = 1
                        self.limits[key] = limit
                    }
                    if let collapseKey = message.collapseKey, !(self.collapseKeys[key] ?? []).contains(where: { ByteString.same($0, collapseKey) }) {
                        self.collapseKeys[key, default: []].append(collapseKey)
                    }
                }
            }
        }
    }

    /// Plans `batch` over a state read whole (an in-memory store).
    public static func plan(_ batch: [InboxAppend], state: InboxState) -> InboxPlan {
        InboxPlanner(batch: batch, records: state.records).plan(state)
    }

    /// The inboxes whose stored messages the batch may trim, and what to read of each.
    ///
    /// A user's kept messages have distinct sequences up to the last one, so an inbox whose
    /// last sequence plus the batch's messages stays within its smallest limit cannot be
    /// trimmed, and its stored messages need not be read. In the others, a message with
    /// fewer than `limit - copies` stored messages newer than it is never trimmed either.
    /// Inboxes not returned need only their last sequence in the state.
    public func reads(lastSequences: [InboxKey: UInt32]) -> [InboxKey: Read] {
        var reads: [InboxKey: Read] = [:]
        for key in self.inboxes {
            let copies = self.copies[key] ?? 0
            let limit = self.limits[key] ?? Self.minimumInboxLimit
            guard Int64(lastSequences[key] ?? 0) + Int64(copies) > Int64(limit) else { continue }
            reads[key] = Read(skip: max(0, limit - copies), collapseKeys: self.collapseKeys[key] ?? [])
        }
        return reads
    }

    /// The batch's writes and results over `state`.
    public func plan(_ state: InboxState) -> InboxPlan {
        var plan = InboxPlan()
        plan.results.reserveCapacity(self.batch.count)
        var inboxes: [InboxKey: Working] = [:]
        var written: [InboxState.RecordKey: (fingerprint: String, createdAt: Date, request: Int)] = [:]
        var recordIndex: [InboxState.RecordKey: Int] = [:]
        var replaced: Set<Replaced> = []
        var ordinal = 0

        for (requestIndex, append) in self.batch.enumerated() {
            var recordKey: InboxState.RecordKey?
            if let idempotency = append.idempotency {
                let key = InboxState.RecordKey(app: append.app, key: idempotency.key)
                if let earlier = written[key], Self.answers(earlier.createdAt, now: append.now) {
                    plan.results.append(
                        earlier.fingerprint == idempotency.fingerprint
                            ? plan.results[earlier.request].map(\.asReplayed) : .failure(.idempotencyConflict))
                    continue
                }
                if written[key] == nil, let record = state.records[key], Self.answers(record.createdAt, now: append.now) {
                    plan.results.append(Self.replay(record, fingerprint: idempotency.fingerprint))
                    continue
                }
                recordKey = key
            }

            // Checked before any change, so an exhausted sequence leaves the whole request undone.
            var needed: [InboxKey: Int64] = [:]
            for message in append.messages {
                for user in message.users { needed[InboxKey(app: append.app, user: user), default: 0] += 1 }
            }
            let exhausts = needed.contains { key, count in
                let last = inboxes[key]?.lastSequence ?? state.inboxes[key]?.lastSequence ?? 0
                return Int64(last) + count > Int64(UInt32.max)
            }
            if exhausts {
                plan.results.append(.failure(.sequenceExhausted(app: append.app)))
                continue
            }

            let limit = Self.limit(append)
            var sequences: [[UserSequence]] = []
            sequences.reserveCapacity(append.messages.count)
            var deadLettered = 0
            for (messageIndex, message) in append.messages.enumerated() {
                var given: [UserSequence] = []
                given.reserveCapacity(message.users.count)
                for user in message.users {
                    let key = InboxKey(app: append.app, user: user)
                    var inbox = inboxes.removeValue(forKey: key) ?? Working(state.inboxes[key])
                    inbox.lastSequence += 1
                    if let collapseKey = message.collapseKey {
                        inbox.collapse(collapseKey)
                        if replaced.insert(Replaced(key: key, collapseKey: Array(collapseKey.utf8))).inserted {
                            plan.replacements.append(InboxPlan.Replacement(key: key, collapseKey: collapseKey))
                        }
                    }
                    inbox.add(
                        Node(
                            seq: inbox.lastSequence, collapseKey: message.collapseKey.map { Array($0.utf8) },
                            keepsDeadLetter: message.keepsDeadLetter,
                            origin: .batch(request: requestIndex, message: messageIndex), ordinal: ordinal))
                    ordinal += 1
                    for trimmed in inbox.trim(limit: limit) {
                        inbox.lost = max(inbox.lost, trimmed.seq)
                        if case .stored = trimmed.origin {
                            plan.removals.append(InboxPlan.Removal(key: key, seq: trimmed.seq))
                        }
                        guard trimmed.keepsDeadLetter, trimmed.seq > inbox.acknowledged else { continue }
                        deadLettered += 1
                        plan.deadLetters.append(
                            InboxPlan.DeadLetterEntry(key: key, seq: trimmed.seq, source: trimmed.origin, diedAt: append.now))
                    }
                    given.append(UserSequence(user: user, seq: inbox.lastSequence))
                    inboxes[key] = inbox
                }
                sequences.append(given)
            }

            let result = InboxAppendResult(messages: sequences, deadLettered: deadLettered)
            plan.results.append(.success(result))
            if let recordKey, let idempotency = append.idempotency {
                written[recordKey] = (idempotency.fingerprint, append.now, requestIndex)
                let record = InboxPlan.Record(
                    app: append.app, key: idempotency.key, fingerprint: idempotency.fingerprint, result: result,
                    createdAt: append.now)
                if let index = recordIndex[recordKey] {
                    plan.records[index] = record
                } else {
                    recordIndex[recordKey] = plan.records.count
                    plan.records.append(record)
                }
            }
        }

        var kept: [(ordinal: Int, insertion: InboxPlan.Insertion)] = []
        for (key, inbox) in inboxes {
            plan.lastSequences[key] = inbox.lastSequence
            if inbox.lost > 0 { plan.lostThrough[key] = inbox.lost }
            for node in inbox.nodes where !node.removed {
                if case .batch(let request, let message) = node.origin {
                    kept.append((node.ordinal, InboxPlan.Insertion(key: key, seq: node.seq, request: request, message: message)))
                }
            }
        }
        plan.insertions = kept.sorted { $0.ordinal < $1.ordinal }.map(\.insertion)
        return plan
    }

    // MARK: - Rules

    /// The request's inbox limit, as the stores apply it.
    static func limit(_ append: InboxAppend) -> Int {
        max(Self.minimumInboxLimit, append.inboxLimit)
    }

    /// Whether a record made at `createdAt` answers a request made at `now`.
    static func answers(_ createdAt: Date?, now: Date) -> Bool {
        guard let createdAt else { return false }
        return now.timeIntervalSince(createdAt) < InboxAppend.idempotencyWindow.timeInterval
    }

    private static func replay(_ record: InboxState.Record, fingerprint: String) -> Result<InboxAppendResult, MessageStoreError> {
        guard record.fingerprint == fingerprint else { return .failure(.idempotencyConflict) }
        guard let result = record.result else {
            return .failure(.unavailable("An idempotency record holds no readable result."))
        }
        return .success(result.asReplayed)
    }

    // MARK: - One inbox, message by message

    /// A collapse key already replaced in an inbox (compared by bytes, as the databases do).
    private struct Replaced: Hashable {
        var key: InboxKey
        var collapseKey: [UInt8]
    }

    private struct Node {
        var seq: UInt32
        /// UTF-8 bytes: compared as the databases compare them.
        var collapseKey: [UInt8]?
        var keepsDeadLetter: Bool
        var origin: InboxPlan.DeadLetterEntry.Source
        /// Among the newest stored messages, which the bound cannot reach.
        /// A batch message's place in the batch (request, message, user): insertions keep it.
        var ordinal = 0
        var isSkipped = false
        var removed = false
    }

    /// An inbox as the batch changes it. Trimming takes the oldest first: the stored
    /// messages it may reach, then the batch's, in order.
    private struct Working {
        var lastSequence: UInt32
        var acknowledged: UInt32
        var lost: UInt32 = 0
        var nodes: [Node] = []
        /// Indices of the nodes the bound may take, oldest first, from `head` on.
        var queue: [Int] = []
        var head = 0
        /// Kept nodes in the queue.
        var alive = 0
        /// Kept stored messages the bound cannot reach.
        var skipped = 0
        var byCollapseKey: [[UInt8]: [Int]] = [:]

        init(_ stored: InboxState.Inbox?) {
            self.lastSequence = stored?.lastSequence ?? 0
            self.acknowledged = stored?.acknowledged ?? 0
            guard let stored else { return }
            var seen: Set<UInt32> = []
            for entry in stored.oldest.sorted(by: { $0.seq < $1.seq }) where seen.insert(entry.seq).inserted {
                self.queue.append(self.nodes.count)
                self.nodes.append(Self.node(entry, isSkipped: false))
            }
            self.alive = self.queue.count
            var collapsible = 0
            for entry in stored.collapsible where seen.insert(entry.seq).inserted {
                self.nodes.append(Self.node(entry, isSkipped: true))
                collapsible += 1
            }
            // With nothing older than the skipped messages, there were fewer of them than
            // skipped and the batch cannot reach the bound: only the known ones count.
            self.skipped = self.queue.isEmpty ? collapsible : max(stored.skipped, collapsible)
            for (index, node) in self.nodes.enumerated() {
                if let key = node.collapseKey { self.byCollapseKey[key, default: []].append(index) }
            }
        }

        private static func node(_ entry: InboxState.Entry, isSkipped: Bool) -> Node {
            Node(
                seq: entry.seq, collapseKey: entry.collapseKey.map { Array($0.utf8) },
                keepsDeadLetter: entry.keepsDeadLetter, origin: .stored, isSkipped: isSkipped)
        }

        /// Removes the kept messages with `collapseKey`.
        mutating func collapse(_ collapseKey: String) {
            guard let same = self.byCollapseKey.removeValue(forKey: Array(collapseKey.utf8)) else { return }
            for index in same where !self.nodes[index].removed {
                self.nodes[index].removed = true
                if self.nodes[index].isSkipped { self.skipped -= 1 } else { self.alive -= 1 }
            }
        }

        mutating func add(_ node: Node) {
            let index = self.nodes.count
            self.nodes.append(node)
            self.queue.append(index)
            self.alive += 1
            if let key = node.collapseKey { self.byCollapseKey[key, default: []].append(index) }
        }

        /// Removes the oldest kept messages past `limit`; returns them, oldest first.
        mutating func trim(limit: Int) -> [Node] {
            var trimmed: [Node] = []
            while self.alive + self.skipped > limit, self.head < self.queue.count {
                let index = self.queue[self.head]
                self.head += 1
                guard !self.nodes[index].removed else { continue }
                self.nodes[index].removed = true
                self.alive -= 1
                trimmed.append(self.nodes[index])
            }
            return trimmed
        }
    }
}
