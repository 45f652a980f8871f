import HeraldCore
import HeraldTestUtils
import NIOCore
import Testing

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Random batches planned by ``InboxPlanner`` and carried out over a simple model must end
/// where the same requests take the model applied naively, one message and one user at a
/// time: the same inboxes, watermarks, dead letters (in order), idempotency records and
/// results. Each case is planned twice: over the whole state, and over the part of it
/// ``InboxPlanner/reads(lastSequences:)`` asks a store to read.
@Suite("InboxPlanner against a naive model")
struct InboxPlannerPropertyTests {
    struct Entry: Equatable {
        var seq: UInt32
        var payload: String
        var collapseKey: String?
        var keepsDeadLetter: Bool
        var createdAt: Date
    }

    struct Inbox: Equatable {
        var lastSeq: UInt32 = 0
        var lostThrough: UInt32 = 0
        var acknowledged: UInt32 = 0
        var entries: [Entry] = []
    }

    struct Dead: Equatable {
        var key: InboxKey
        var seq: UInt32
        var payload: String
        var createdAt: Date
        var diedAt: Date
    }

    struct Record: Equatable {
        var fingerprint: String
        var result: InboxAppendResult
        var createdAt: Date
    }

    struct Model: Equatable {
        var inboxes: [InboxKey: Inbox] = [:]
        var dead: [Dead] = []
        var records: [InboxState.RecordKey: Record] = [:]

        /// One request, the plain way.
        mutating func apply(_ append: InboxAppend) -> Result<InboxAppendResult, MessageStoreError> {
            if let idempotency = append.idempotency,
                let record = self.records[InboxState.RecordKey(app: append.app, key: idempotency.key)],
                append.now.timeIntervalSince(record.createdAt) < InboxAppend.idempotencyWindow.timeInterval
            {
                guard record.fingerprint == idempotency.fingerprint else { return .failure(.idempotencyConflict) }
                return .success(record.result.asReplayed)
            }
            var needed: [InboxKey: UInt64] = [:]
            for message in append.messages {
                for user in message.users { needed[InboxKey(app: append.app, user: user), default: 0] += 1 }
            }
            for (key, count) in needed where UInt64(self.inboxes[key]?.lastSeq ?? 0) + count > UInt64(UInt32.max) {
                return .failure(.sequenceExhausted(app: append.app))
            }
            var sequences: [[UserSequence]] = []
            var deadLettered = 0
            for message in append.messages {
                var given: [UserSequence] = []
                for user in message.users {
                    let key = InboxKey(app: append.app, user: user)
                    var inbox = self.inboxes[key] ?? Inbox()
                    inbox.lastSeq += 1
                    if let collapseKey = message.collapseKey {
                        inbox.entries.removeAll { $0.collapseKey == collapseKey }
                    }
                    inbox.entries.append(
                        Entry(
                            seq: inbox.lastSeq, payload: String(buffer: message.payload),
                            collapseKey: message.collapseKey, keepsDeadLetter: message.keepsDeadLetter,
                            createdAt: append.now))
                    while inbox.entries.count > max(1, append.inboxLimit) {
                        let oldest = inbox.entries.removeFirst()
                        inbox.lostThrough = max(inbox.lostThrough, oldest.seq)
                        if oldest.keepsDeadLetter, oldest.seq > inbox.acknowledged {
                            deadLettered += 1
                            self.dead.append(
                                Dead(
                                    key: key, seq: oldest.seq, payload: oldest.payload, createdAt: oldest.createdAt,
                                    diedAt: append.now))
                        }
                    }
                    self.inboxes[key] = inbox
                    given.append(UserSequence(user: user, seq: inbox.lastSeq))
                }
                sequences.append(given)
            }
            let result = InboxAppendResult(messages: sequences, deadLettered: deadLettered)
            if let idempotency = append.idempotency {
                self.records[InboxState.RecordKey(app: append.app, key: idempotency.key)] = Record(
                    fingerprint: idempotency.fingerprint, result: result, createdAt: append.now)
            }
            return .success(result)
        }

        /// The whole state, as an in-memory store gives it.
        var state: InboxState {
            var state = InboxState()
            for (key, inbox) in self.inboxes {
                state.inboxes[key] = InboxState.Inbox(
                    lastSequence: inbox.lastSeq, acknowledged: inbox.acknowledged,
                    messages: inbox.entries.map {
                        InboxState.Entry(seq: $0.seq, collapseKey: $0.collapseKey, keepsDeadLetter: $0.keepsDeadLetter)
                    })
            }
            for (key, record) in self.records {
                state.records[key] = InboxState.Record(
                    fingerprint: record.fingerprint, result: record.result, createdAt: record.createdAt)
            }
            return state
        }

        /// What a store reads for `planner`: last sequences, and of the inboxes the batch may
        /// trim, the messages past the skipped newest, the skipped ones with a batch's collapse
        /// key, and the cursor.
        func partialState(for planner: InboxPlanner) -> InboxState {
            var state = InboxState(inboxes: [:], records: self.state.records)
            var last: [InboxKey: UInt32] = [:]
            for key in planner.inboxes {
                last[key] = self.inboxes[key]?.lastSeq ?? 0
                state.inboxes[key] = InboxState.Inbox(lastSequence: last[key] ?? 0)
            }
            for (key, read) in planner.reads(lastSequences: last) {
                let entries = (self.inboxes[key]?.entries ?? []).map {
                    InboxState.Entry(seq: $0.seq, collapseKey: $0.collapseKey, keepsDeadLetter: $0.keepsDeadLetter)
                }
                let older = entries.count > read.skip ? Array(entries.prefix(entries.count - read.skip)) : []
                let newer = entries.suffix(min(entries.count, read.skip))
                state.inboxes[key] = InboxState.Inbox(
                    lastSequence: last[key] ?? 0, acknowledged: self.inboxes[key]?.acknowledged ?? 0,
                    oldest: older.reversed(), skipped: read.skip,
                    collapsible: newer.filter { entry in read.collapseKeys.contains { $0 == entry.collapseKey } })
            }
            return state
        }

        /// Carries out `plan` in the order it asks for.
        mutating func carryOut(_ plan: InboxPlan, of batch: [InboxAppend]) {
            for dead in plan.deadLetters {
                switch dead.source {
                case .stored:
                    guard let entry = self.inboxes[dead.key]?.entries.first(where: { $0.seq == dead.seq }) else {
                        Issue.record("a dead letter names a message that is not stored")
                        continue
                    }
                    self.dead.append(
                        Dead(key: dead.key, seq: dead.seq, payload: entry.payload, createdAt: entry.createdAt, diedAt: dead.diedAt))
                case .batch(let request, let message):
                    self.dead.append(
                        Dead(
                            key: dead.key, seq: dead.seq, payload: String(buffer: batch[request].messages[message].payload),
                            createdAt: batch[request].now, diedAt: dead.diedAt))
                }
            }
            for replacement in plan.replacements {
                self.inboxes[replacement.key]?.entries.removeAll { $0.collapseKey == replacement.collapseKey }
            }
            for removal in plan.removals {
                self.inboxes[removal.key]?.entries.removeAll { $0.seq == removal.seq }
            }
            for insertion in plan.insertions {
                let append = batch[insertion.request]
                let message = append.messages[insertion.message]
                self.inboxes[insertion.key, default: Inbox()].entries.append(
                    Entry(
                        seq: insertion.seq, payload: String(buffer: message.payload), collapseKey: message.collapseKey,
                        keepsDeadLetter: message.keepsDeadLetter, createdAt: append.now))
            }
            for (key, last) in plan.lastSequences { self.inboxes[key, default: Inbox()].lastSeq = last }
            for (key, lost) in plan.lostThrough {
                self.inboxes[key, default: Inbox()].lostThrough = max(self.inboxes[key]?.lostThrough ?? 0, lost)
            }
            for record in plan.records {
                self.records[InboxState.RecordKey(app: record.app, key: record.key)] = Record(
                    fingerprint: record.fingerprint, result: record.result, createdAt: record.createdAt)
            }
        }
    }

    static let users = ["u0", "u1", "u2"]
    static let t0 = Date(timeIntervalSince1970: 1_700_000_000)

    static func batch(_ random: inout SeededRandom, now: inout Date, counter: inout Int) -> [InboxAppend] {
        (0..<Int.random(in: 1...6, using: &random)).map { _ in
            var messages: [InboxMessage] = []
            for _ in 0..<Int.random(in: 0...4, using: &random) {
                var chosen = Self.users.filter { _ in Bool.random(using: &random) }
                if chosen.isEmpty { chosen = [Self.users.randomElement(using: &random) ?? "u0"] }
                if Bool.random(using: &random) { chosen.shuffle(using: &random) }
                counter += 1
                messages.append(
                    InboxMessage(
                        users: chosen, payload: ByteBuffer(string: "p\(counter)"), ttl: .seconds(600),
                        collapseKey: [nil, nil, "a", "b"].randomElement(using: &random) ?? nil,
                        keepsDeadLetter: Int.random(in: 0..<4, using: &random) != 0))
            }
            let idempotency: IdempotencyKey? =
                Int.random(in: 0..<3, using: &random) == 0
                ? IdempotencyKey(
                    key: ["k1", "k2"].randomElement(using: &random) ?? "k1",
                    fingerprint: ["f1", "f2"].randomElement(using: &random) ?? "f1")
                : nil
            // Now and then a request comes after the idempotency window.
            now.addTimeInterval(
                Int.random(in: 0..<12, using: &random) == 0 ? InboxAppend.idempotencyWindow.timeInterval : 0.5)
            return InboxAppend(
                app: "app", messages: messages, idempotency: idempotency,
                inboxLimit: [0, 1, 1, 2, 3, 5].randomElement(using: &random) ?? 1, now: now)
        }
    }

    @Test(arguments: 0..<300)
    func planMatchesTheNaiveModel(seed: Int) throws {
        var random = SeededRandom(seed: UInt64(seed) &* 0x9E37_79B9_7F4A_7C15 &+ 1)
        var now = Self.t0
        var counter = 0
        var model = Model()
        if seed % 10 == 0 {
            // Near the end of the sequence space: a request past it fails alone.
            model.inboxes[InboxKey(app: "app", user: "u1")] = Inbox(lastSeq: UInt32.max - 3)
        }
        // A start state: a few batches applied the plain way, and some acknowledgements.
        for _ in 0..<Int.random(in: 0...4, using: &random) {
            for append in Self.batch(&random, now: &now, counter: &counter) { _ = model.apply(append) }
            for key in model.inboxes.keys where Bool.random(using: &random) {
                let last = model.inboxes[key]?.lastSeq ?? 0
                model.inboxes[key]?.acknowledged = UInt32.random(in: 0...last, using: &random)
            }
        }

        let batch = Self.batch(&random, now: &now, counter: &counter)
        var naive = model
        let expected = batch.map { naive.apply($0) }

        let whole = InboxPlanner.plan(batch, state: model.state)
        var planned = model
        planned.carryOut(whole, of: batch)
        #expect(whole.results == expected, "seed \(seed)")
        #expect(planned == naive, "seed \(seed)")

        let planner = InboxPlanner(batch: batch, records: model.state.records)
        let partial = planner.plan(model.partialState(for: planner))
        var partly = model
        partly.carryOut(partial, of: batch)
        #expect(partial.results == expected, "seed \(seed), partial read")
        #expect(partly == naive, "seed \(seed), partial read")
    }
}
