import HeraldCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// What one group-commit batch does to its inboxes, worked out in memory so that the batch
/// writes with a fixed number of statements however many messages it holds.
///
/// The inboxes are locked (their `inbox_state` rows) before the plan is made, so the last
/// sequences and the stored messages it starts from cannot change under it. It replays the
/// contract's per-message steps (collapse, insert, trim to the bound) over each inbox in the
/// order of the batch, exactly as one statement per message would, and yields the rows to
/// insert, the stored rows to delete, the dead letters and the new `inbox_state` values.
struct PostgresInboxPlan {
    /// One message for one user.
    struct Event {
        /// The request's index in the batch.
        var request: Int
        /// The message's index within its request.
        var message: Int
        /// The message's position in the whole batch: dead letters are written in this order.
        var ordinal: Int
        /// The user's position in the message's list: orders the dead letters it causes.
        var userIndex: Int
        var seq: Int64
        var collapseKey: [UInt8]?
        var keepsDeadLetter: Bool
        /// The request's inbox bound (at least 1).
        var limit: Int
    }

    /// A stored message, as the plan needs it.
    struct Stored {
        var seq: Int64
        var collapseKey: String?
        var keepsDeadLetter: Bool
    }

    /// What is stored for one inbox: enough to replay the batch over it.
    struct Inbox {
        /// Every stored message older than the newest ``PostgresInboxPlan/protectedCount(_:)``.
        var oldest: [Stored] = []
        /// Stored messages with a collapse key that a new message of the batch carries.
        var collapsible: [Stored] = []
        /// The highest acknowledged cursor over the user's devices.
        var cursor: Int64 = 0
    }

    /// A stored message the batch removes.
    struct Removal {
        var key: InboxKey
        var seq: Int64
        /// Whether it becomes a dead letter (`inbox_full`).
        var dead: Bool
        var diedAt: Double
        /// Its place among the batch's dead letters.
        var order: Int64 = 0
    }

    /// A message of the batch that the batch itself pushes out as a dead letter.
    struct NewDeadLetter {
        var key: InboxKey
        var event: Event
        var diedAt: Double
        var order: Int64 = 0
    }

    /// The batch's writes.
    struct Writes {
        /// New messages that stay, in inbox order.
        var inserted: [(key: InboxKey, event: Event)] = []
        var removed: [Removal] = []
        var newDeadLetters: [NewDeadLetter] = []
        /// The highest sequence each inbox lost to its bound (only inboxes that lost any).
        var lostThrough: [InboxKey: Int64] = [:]
        /// Dead letters per request index.
        var deadLettered: [Int: Int] = [:]
    }

    /// Each inbox's new messages, in batch order.
    private(set) var events: [InboxKey: [Event]] = [:]
    /// Per request index, per message, each user's sequence.
    private(set) var sequences: [Int: [[UserSequence]]] = [:]
    /// Each inbox's last sequence once the batch is stored.
    private(set) var lastSeqs: [InboxKey: Int64]

    /// Gives sequences to the messages of `requests` (indices into `batch`, in order).
    ///
    /// - Throws: ``MessageStoreError/sequenceExhausted(app:)`` past `UInt32.max` (the caller
    ///   checks beforehand and takes the per-request path when that may happen).
    init(batch: [InboxAppend], requests: [Int], lastSeqs: [InboxKey: Int64]) throws {
        self.lastSeqs = lastSeqs
        var ordinal = 0
        for request in requests {
            let append = batch[request]
            let limit = max(1, append.inboxLimit)
            var perMessage: [[UserSequence]] = []
            perMessage.reserveCapacity(append.messages.count)
            for (index, message) in append.messages.enumerated() {
                var users: [UserSequence] = []
                users.reserveCapacity(message.users.count)
                let collapseKey = message.collapseKey.map { Array($0.utf8) }
                for (userIndex, user) in message.users.enumerated() {
                    let key = InboxKey(app: append.app, user: user)
                    guard let last = self.lastSeqs[key] else {
                        throw MessageStoreError.unavailable("no inbox row for a user of the batch")
                    }
                    guard let seq = UInt32(exactly: last + 1) else {
                        throw MessageStoreError.sequenceExhausted(app: append.app)
                    }
                    self.lastSeqs[key] = last + 1
                    users.append(UserSequence(user: user, seq: seq))
                    self.events[key, default: []].append(
                        Event(
                            request: request, message: index, ordinal: ordinal, userIndex: userIndex, seq: last + 1,
                            collapseKey: collapseKey, keepsDeadLetter: message.keepsDeadLetter, limit: limit
                        )
                    )
                }
                perMessage.append(users)
                ordinal += 1
            }
            self.sequences[request] = perMessage
        }
    }

    /// How many of an inbox's newest stored messages no step of the batch can trim: with
    /// `k` new messages and a bound of at least `limit`, a message with fewer than
    /// `limit - k` stored messages newer than it never has `limit` kept messages above it.
    static func protectedCount(_ events: [Event]) -> Int {
        let limit = events.map(\.limit).min() ?? 1
        return max(0, limit - events.count)
    }

    /// The collapse keys each inbox's new messages carry.
    var collapseKeys: [(key: InboxKey, collapseKey: String)] {
        var keys: [(key: InboxKey, collapseKey: String)] = []
        for (key, events) in self.events {
            var seen: Set<[UInt8]> = []
            for event in events {
                if let collapseKey = event.collapseKey, seen.insert(collapseKey).inserted {
                    keys.append((key, String(decoding: collapseKey, as: UTF8.self)))
                }
            }
        }
        return keys
    }

    /// The message, then the user, whose step pushed a message out, as one sortable number.
    private static func cause(_ event: Event) -> Int64 {
        Int64(event.ordinal) << 32 | Int64(event.userIndex)
    }

    private struct Node {
        var seq: Int64
        var collapseKey: [UInt8]?
        var keepsDeadLetter: Bool
        /// Nil for a stored message.
        var event: Event?
        /// A stored message the bound cannot reach (only a collapse removes it).
        var isProtected = false
        var removed = false
    }

    /// Replays the batch over the stored inboxes.
    func writes(stored: [InboxKey: Inbox], batch: [InboxAppend]) -> Writes {
        var writes = Writes()
        for (key, events) in self.events {
            self.replay(key: key, events: events, inbox: stored[key] ?? Inbox(), batch: batch, into: &writes)
        }
        // Dead letters get ids in the order the messages of the batch, taken one by one, each
        // for its users in turn, push them out (the order of the other stores).
        var order: [(cause: Int64, seq: Int64, removal: Int?, new: Int?)] = []
        for (index, removal) in writes.removed.enumerated() where removal.dead {
            order.append((removal.order, removal.seq, index, nil))
        }
        for (index, dead) in writes.newDeadLetters.enumerated() {
            order.append((dead.order, dead.event.seq, nil, index))
        }
        order.sort { $0.cause != $1.cause ? $0.cause < $1.cause : $0.seq < $1.seq }
        for (position, entry) in order.enumerated() {
            if let index = entry.removal { writes.removed[index].order = Int64(position) }
            if let index = entry.new { writes.newDeadLetters[index].order = Int64(position) }
        }
        return writes
    }

    /// One inbox: collapse, insert, trim, message by message. `order` fields hold the message
    /// and user that caused each dead letter (``cause(_:)``) until ``writes(stored:batch:)``
    /// ranks them.
    private func replay(key: InboxKey, events: [Event], inbox: Inbox, batch: [InboxAppend], into writes: inout Writes) {
        var nodes: [Node] = inbox.oldest.sorted { $0.seq < $1.seq }.map {
            Node(seq: $0.seq, collapseKey: $0.collapseKey.map { Array($0.utf8) }, keepsDeadLetter: $0.keepsDeadLetter)
        }
        // Trimming takes the oldest first: the stored messages it may reach, then the new ones.
        var queue = Array(nodes.indices)
        var head = 0
        var alive = nodes.count
        // Known exactly when some stored message lies past them; otherwise the inbox is small
        // enough that nothing is trimmed, and counting them as 0 keeps it so.
        var protectedCount = nodes.isEmpty ? 0 : Self.protectedCount(events)
        var bySeq: [Int64: Int] = [:]
        for (index, node) in nodes.enumerated() { bySeq[node.seq] = index }
        for stored in inbox.collapsible where bySeq[stored.seq] == nil {
            bySeq[stored.seq] = nodes.count
            nodes.append(
                Node(
                    seq: stored.seq, collapseKey: stored.collapseKey.map { Array($0.utf8) },
                    keepsDeadLetter: stored.keepsDeadLetter, isProtected: true
                )
            )
        }
        var byCollapseKey: [[UInt8]: [Int]] = [:]
        for (index, node) in nodes.enumerated() {
            if let collapseKey = node.collapseKey { byCollapseKey[collapseKey, default: []].append(index) }
        }
        var lost: Int64 = 0
        for event in events {
            let now = batch[event.request].now.timeIntervalSince1970
            if let collapseKey = event.collapseKey, let same = byCollapseKey.removeValue(forKey: collapseKey) {
                for index in same where !nodes[index].removed {
                    nodes[index].removed = true
                    if nodes[index].isProtected { protectedCount -= 1 } else { alive -= 1 }
                    if nodes[index].event == nil {
                        writes.removed.append(Removal(key: key, seq: nodes[index].seq, dead: false, diedAt: now))
                    }
                }
            }
            let index = nodes.count
            nodes.append(Node(seq: event.seq, collapseKey: event.collapseKey, keepsDeadLetter: event.keepsDeadLetter, event: event))
            queue.append(index)
            alive += 1
            if let collapseKey = event.collapseKey { byCollapseKey[collapseKey, default: []].append(index) }
            while alive + protectedCount > event.limit, head < queue.count {
                let oldest = queue[head]
                head += 1
                guard !nodes[oldest].removed else { continue }
                nodes[oldest].removed = true
                alive -= 1
                lost = max(lost, nodes[oldest].seq)
                let dead = nodes[oldest].keepsDeadLetter && nodes[oldest].seq > inbox.cursor
                if dead { writes.deadLettered[event.request, default: 0] += 1 }
                if let removedEvent = nodes[oldest].event {
                    if dead {
                        writes.newDeadLetters.append(
                            NewDeadLetter(key: key, event: removedEvent, diedAt: now, order: Self.cause(event)))
                    }
                } else {
                    writes.removed.append(
                        Removal(key: key, seq: nodes[oldest].seq, dead: dead, diedAt: now, order: Self.cause(event)))
                }
            }
        }
        for node in nodes where !node.removed {
            if let event = node.event { writes.inserted.append((key, event)) }
        }
        if lost > 0 { writes.lostThrough[key] = lost }
    }
}
