import HeraldCore
import NIOConcurrencyHelpers
import NIOCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// A ``MessageStore`` that lives in memory: for tests and throwaway nodes.
///
/// It follows the same contract as the durable stores (the contract suite runs against
/// it too), except that nothing survives the process. One lock guards the whole state,
/// so every call is atomic.
public final class InMemoryMessageStore: MessageStore {
    /// By bytes, as the durable stores key their rows (``ByteString``).
    fileprivate struct IdempotencyRecordKey: Hashable {
        var app: ByteString
        var key: ByteString

        init(app: String, key: String) {
            self.app = ByteString(app)
            self.key = ByteString(key)
        }
    }

    fileprivate struct InboxEntry {
        var seq: UInt32
        var payload: ByteBuffer
        var expiresAt: Date
        var createdAt: Date
        var collapseKey: String?
        var keepsDeadLetter: Bool
    }

    fileprivate struct Inbox {
        var lastSeq: UInt32 = 0
        var lostThrough: UInt32 = 0
        /// Kept messages in sequence order.
        var entries: [InboxEntry] = []
        var cursors: [ByteString: UInt32] = [:]

        var maxCursor: UInt32 { self.cursors.values.max() ?? 0 }
    }

    fileprivate struct BroadcastEntry {
        var seq: UInt32
        var payload: ByteBuffer
        var expiresAt: Date
    }

    fileprivate struct BroadcastLog {
        var seq: UInt32 = 0
        var trimmedThrough: UInt32 = 0
        /// Kept broadcasts in sequence order.
        var entries: [BroadcastEntry] = []
    }

    fileprivate struct IdempotencyRecord {
        var fingerprint: String
        var result: InboxAppendResult
        var createdAt: Date
    }

    fileprivate struct State {
        var inboxes: [InboxKey: Inbox] = [:]
        var broadcasts: [ByteString: BroadcastLog] = [:]
        /// In id order (oldest first).
        var deadLetters: [DeadLetter] = []
        var nextDeadLetterID: Int64 = 1
        var idempotency: [IdempotencyRecordKey: IdempotencyRecord] = [:]

        mutating func addDeadLetter(
            app: String,
            user: String,
            entry: InboxEntry,
            reason: DeadLetterReason,
            now: Date
        ) {
            self.deadLetters.append(
                DeadLetter(
                    id: self.nextDeadLetterID,
                    app: app,
                    user: user,
                    seq: entry.seq,
                    payload: entry.payload,
                    reason: reason,
                    createdAt: entry.createdAt,
                    diedAt: now
                )
            )
            self.nextDeadLetterID += 1
        }
    }

    private let state = NIOLockedValueBox(State())

    public init() {}

    public func appendInbox(_ append: InboxAppend) async throws -> InboxAppendResult {
        try self.state.withLockedValue { state in
            let batch = [append]
            let plan = InboxPlanner.plan(batch, state: state.inboxState(for: append))
            if let result = plan.results.first, case .failure(let error) = result { throw error }
            state.carryOut(plan, of: batch)
            guard let result = plan.results.first else {
                throw MessageStoreError.unavailable("The inbox plan gave no result.")
            }
            return try result.get()
        }
    }

    public func inbox(app: String, user: String, device: String, after: UInt32, now: Date, page: InboxPage) async throws
        -> InboxReplay
    {
        self.state.withLockedValue { state in
            guard let inbox = state.inboxes[InboxKey(app: app, user: user)] else {
                return InboxReplay(messages: [], cursor: 0, lastSequence: 0, lostThrough: 0)
            }
            let cursor = inbox.cursors[ByteString(device)] ?? 0
            let floor = max(cursor, after)
            var lostThrough = inbox.lostThrough
            var messages: [StoredMessage] = []
            for entry in inbox.entries {
                if entry.expiresAt > now {
                    if entry.seq > floor { messages.append(StoredMessage(seq: entry.seq, payload: entry.payload)) }
                } else {
                    lostThrough = max(lostThrough, entry.seq)
                }
            }
            let (kept, isComplete) = page.cut(messages)
            return InboxReplay(
                messages: kept, cursor: cursor, lastSequence: inbox.lastSeq, lostThrough: lostThrough,
                isComplete: isComplete)
        }
    }

    public func acknowledge(_ acknowledgements: [InboxAcknowledgement]) async throws {
        self.state.withLockedValue { state in
            for ack in acknowledgements {
                let key = InboxKey(app: ack.app, user: ack.user)
                // An unknown user has sent nothing: there is nothing to acknowledge.
                guard var inbox = state.inboxes[key], inbox.lastSeq > 0 else { continue }
                let device = ByteString(ack.device)
                let current = inbox.cursors[device] ?? 0
                inbox.cursors[device] = max(current, min(ack.seq, inbox.lastSeq))
                state.inboxes[key] = inbox
            }
        }
    }

    public func lastInboxSequence(app: String, user: String) async throws -> UInt32 {
        self.state.withLockedValue { $0.inboxes[InboxKey(app: app, user: user)]?.lastSeq ?? 0 }
    }

    public func appendBroadcast(app: String, payload: ByteBuffer, ttl: Duration, keep: Int, now: Date) async throws
        -> UInt32
    {
        try self.state.withLockedValue { state in
            var log = state.broadcasts[ByteString(app)] ?? BroadcastLog()
            guard log.seq < UInt32.max else { throw MessageStoreError.sequenceExhausted(app: app) }
            log.seq += 1
            log.entries.append(
                BroadcastEntry(seq: log.seq, payload: payload, expiresAt: now.addingTimeInterval(ttl.timeInterval)))
            let overflow = log.entries.count - max(0, keep)
            if overflow > 0 {
                for removed in log.entries.prefix(overflow) {
                    log.trimmedThrough = max(log.trimmedThrough, removed.seq)
                }
                log.entries.removeFirst(overflow)
            }
            state.broadcasts[ByteString(app)] = log
            return log.seq
        }
    }

    public func broadcasts(app: String, after: UInt32, now: Date) async throws -> BroadcastReplay {
        self.state.withLockedValue { state in
            guard let log = state.broadcasts[ByteString(app)] else {
                return BroadcastReplay(messages: [], lastSequence: 0, trimmedThrough: 0)
            }
            var trimmedThrough = log.trimmedThrough
            var messages: [StoredMessage] = []
            for entry in log.entries {
                if entry.expiresAt > now {
                    if entry.seq > after { messages.append(StoredMessage(seq: entry.seq, payload: entry.payload)) }
                } else {
                    trimmedThrough = max(trimmedThrough, entry.seq)
                }
            }
            return BroadcastReplay(messages: messages, lastSequence: log.seq, trimmedThrough: trimmedThrough)
        }
    }

    public func lastBroadcastSequence(app: String) async throws -> UInt32 {
        self.state.withLockedValue { $0.broadcasts[ByteString(app)]?.seq ?? 0 }
    }

    public func purge(now: Date, deadLetterLimit: Int, chunk: Int) async throws -> PurgeReport {
        let chunk = max(1, chunk)
        return self.state.withLockedValue { state in
            var report = PurgeReport()

            // The soonest expired `chunk` messages, as the SQL stores pick them.
            var expired: [(key: InboxKey, entry: InboxEntry)] = []
            for (key, inbox) in state.inboxes {
                for entry in inbox.entries where entry.expiresAt <= now { expired.append((key, entry)) }
            }
            expired.sort { ($0.entry.expiresAt, $0.key, $0.entry.seq) < ($1.entry.expiresAt, $1.key, $1.entry.seq) }
            var chosen: [InboxKey: Set<UInt32>] = [:]
            for item in expired.prefix(chunk) { chosen[item.key, default: []].insert(item.entry.seq) }
            // Sorted, so dead letters get ids in the same order as in the SQL stores.
            for key in chosen.keys.sorted() {
                guard var inbox = state.inboxes[key], let seqs = chosen[key] else { continue }
                let acknowledged = inbox.maxCursor
                for entry in inbox.entries where seqs.contains(entry.seq) {
                    inbox.lostThrough = max(inbox.lostThrough, entry.seq)
                    if entry.keepsDeadLetter, entry.seq > acknowledged {
                        state.addDeadLetter(app: key.app, user: key.user, entry: entry, reason: .expired, now: now)
                        report.deadLettered += 1
                    } else {
                        report.expired += 1
                    }
                }
                inbox.entries.removeAll { seqs.contains($0.seq) }
                state.inboxes[key] = inbox
            }

            var expiredBroadcasts: [(app: ByteString, entry: BroadcastEntry)] = []
            for (app, log) in state.broadcasts {
                for entry in log.entries where entry.expiresAt <= now { expiredBroadcasts.append((app, entry)) }
            }
            expiredBroadcasts.sort {
                ($0.entry.expiresAt, $0.app, $0.entry.seq) < ($1.entry.expiresAt, $1.app, $1.entry.seq)
            }
            for (app, entry) in expiredBroadcasts.prefix(chunk) {
                guard var log = state.broadcasts[app] else { continue }
                log.trimmedThrough = max(log.trimmedThrough, entry.seq)
                log.entries.removeAll { $0.seq == entry.seq }
                report.broadcasts += 1
                state.broadcasts[app] = log
            }

            // Keep the newest `deadLetterLimit` per app.
            let limit = max(0, deadLetterLimit)
            var keptPerApp: [ByteString: Int] = [:]
            var keep = [Bool](repeating: false, count: state.deadLetters.count)
            for index in state.deadLetters.indices.reversed() {
                let app = ByteString(state.deadLetters[index].app)
                let kept = keptPerApp[app, default: 0]
                if kept < limit {
                    keep[index] = true
                    keptPerApp[app] = kept + 1
                }
            }
            // At most `chunk` of those past the bound go, the oldest first.
            var trimmed = 0
            for index in keep.indices where !keep[index] {
                if trimmed == chunk { keep[index] = true } else { trimmed += 1 }
            }
            state.deadLetters = state.deadLetters.indices.filter { keep[$0] }.map { state.deadLetters[$0] }
            report.deadLettersTrimmed = trimmed

            let old = state.idempotency.filter { !Self.isWithinWindow($0.value.createdAt, now: now) }.keys.prefix(chunk)
            for key in old { state.idempotency[key] = nil }
            report.idempotencyRecords = old.count

            report.noteChunk(chunk)
            return report
        }
    }

    public func deadLetters(app: String, before: Int64?, limit: Int) async throws -> DeadLetterPage {
        self.state.withLockedValue { state in
            let limit = max(0, limit)
            var page: [DeadLetter] = []
            var more = false
            for letter in state.deadLetters.reversed() where ByteString.same(letter.app, app) {
                if let before, letter.id >= before { continue }
                if page.count == limit {
                    more = true
                    break
                }
                page.append(letter)
            }
            return DeadLetterPage(deadLetters: page, next: more ? page.last?.id : nil)
        }
    }

    /// Whether an idempotency record made at `createdAt` still answers retries at `now`.
    private static func isWithinWindow(_ createdAt: Date, now: Date) -> Bool {
        now.timeIntervalSince(createdAt) < InboxAppend.idempotencyWindow.timeInterval
    }
}

extension InMemoryMessageStore.State {
    /// Every inbox and idempotency record `append` names, read whole.
    fileprivate func inboxState(for append: InboxAppend) -> InboxState {
        var state = InboxState()
        for message in append.messages {
            for user in message.users {
                let key = InboxKey(app: append.app, user: user)
                guard state.inboxes[key] == nil, let inbox = self.inboxes[key] else { continue }
                state.inboxes[key] = InboxState.Inbox(
                    lastSequence: inbox.lastSeq,
                    acknowledged: inbox.maxCursor,
                    messages: inbox.entries.map {
                        InboxState.Entry(seq: $0.seq, collapseKey: $0.collapseKey, keepsDeadLetter: $0.keepsDeadLetter)
                    }
                )
            }
        }
        if let idempotency = append.idempotency {
            let key = InMemoryMessageStore.IdempotencyRecordKey(app: append.app, key: idempotency.key)
            if let record = self.idempotency[key] {
                state.records[InboxState.RecordKey(app: append.app, key: idempotency.key)] = InboxState.Record(
                    fingerprint: record.fingerprint, result: record.result, createdAt: record.createdAt)
            }
        }
        return state
    }

    /// Writes `plan` in the order it asks for.
    fileprivate mutating func carryOut(_ plan: InboxPlan, of batch: [InboxAppend]) {
        for dead in plan.deadLetters {
            let entry: InMemoryMessageStore.InboxEntry
            switch dead.source {
            case .stored:
                guard let stored = self.inboxes[dead.key]?.entries.first(where: { $0.seq == dead.seq }) else { continue }
                entry = stored
            case .batch(let request, let message):
                entry = InMemoryMessageStore.InboxEntry(batch[request], message: message, seq: dead.seq)
            }
            self.addDeadLetter(app: dead.key.app, user: dead.key.user, entry: entry, reason: .inboxFull, now: dead.diedAt)
        }
        for replacement in plan.replacements {
            self.inboxes[replacement.key]?.entries.removeAll {
                $0.collapseKey.map { ByteString.same($0, replacement.collapseKey) } ?? false
            }
        }
        for removal in plan.removals {
            self.inboxes[removal.key]?.entries.removeAll { $0.seq == removal.seq }
        }
        for insertion in plan.insertions {
            let entry = InMemoryMessageStore.InboxEntry(batch[insertion.request], message: insertion.message, seq: insertion.seq)
            self.inboxes[insertion.key, default: InMemoryMessageStore.Inbox()].entries.append(entry)
        }
        for (key, last) in plan.lastSequences {
            self.inboxes[key, default: InMemoryMessageStore.Inbox()].lastSeq = last
        }
        for (key, lost) in plan.lostThrough {
            self.inboxes[key, default: InMemoryMessageStore.Inbox()].lostThrough = max(self.inboxes[key]?.lostThrough ?? 0, lost)
        }
        for record in plan.records {
            self.idempotency[InMemoryMessageStore.IdempotencyRecordKey(app: record.app, key: record.key)] =
                InMemoryMessageStore.IdempotencyRecord(
                    fingerprint: record.fingerprint, result: record.result, createdAt: record.createdAt)
        }
    }
}

extension InMemoryMessageStore.InboxEntry {
    /// Message `message` of `append`, stored under `seq`.
    fileprivate init(_ append: InboxAppend, message index: Int, seq: UInt32) {
        let message = append.messages[index]
        self.init(
            seq: seq,
            payload: message.payload,
            expiresAt: append.now.addingTimeInterval(message.ttl.timeInterval),
            createdAt: append.now,
            collapseKey: message.collapseKey,
            keepsDeadLetter: message.keepsDeadLetter
        )
    }
}
