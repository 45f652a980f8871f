import HeraldCore
import NIOCore
import Testing

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The inbox-write rules as ``InboxPlanner`` plans them, case by case.
@Suite("InboxPlanner")
struct InboxPlannerTests {
    static let t0 = Date(timeIntervalSince1970: 1_700_000_000)
    static let u = InboxKey(app: "a", user: "u")

    static func message(
        _ text: String, users: [String] = ["u"], collapseKey: String? = nil, keepsDeadLetter: Bool = true
    ) -> InboxMessage {
        InboxMessage(
            users: users, payload: ByteBuffer(string: text), ttl: .seconds(60), collapseKey: collapseKey,
            keepsDeadLetter: keepsDeadLetter)
    }

    static func append(
        _ messages: [InboxMessage], limit: Int = 10, idempotency: IdempotencyKey? = nil, now: Date = Self.t0
    ) -> InboxAppend {
        InboxAppend(app: "a", messages: messages, idempotency: idempotency, inboxLimit: limit, now: now)
    }

    static func entry(_ seq: UInt32, _ collapseKey: String? = nil, keeps: Bool = true) -> InboxState.Entry {
        InboxState.Entry(seq: seq, collapseKey: collapseKey, keepsDeadLetter: keeps)
    }

    @Test func newMessagesTakeTheNextSequences() throws {
        let state = InboxState(inboxes: [Self.u: InboxState.Inbox(lastSequence: 4, messages: [Self.entry(4)])])
        let plan = InboxPlanner.plan(
            [Self.append([Self.message("x", users: ["u", "v"]), Self.message("y")])], state: state)
        let result = try plan.results[0].get()
        #expect(result.messages.map { $0.map(\.seq) } == [[5, 1], [6]])
        #expect(plan.insertions.map(\.seq) == [5, 1, 6])
        #expect(plan.lastSequences == [Self.u: 6, InboxKey(app: "a", user: "v"): 1])
        #expect(plan.removals.isEmpty && plan.deadLetters.isEmpty && plan.lostThrough.isEmpty)
    }

    @Test func aCollapseKeyReplacesWithoutLoss() throws {
        let state = InboxState(inboxes: [
            Self.u: InboxState.Inbox(lastSequence: 2, messages: [Self.entry(1, "k"), Self.entry(2)])
        ])
        let plan = InboxPlanner.plan(
            [Self.append([Self.message("a", collapseKey: "k"), Self.message("b", collapseKey: "k")], limit: 2)],
            state: state)
        #expect(plan.replacements == [InboxPlan.Replacement(key: Self.u, collapseKey: "k")])
        // The second replaces the first within the batch: only it is inserted, nothing is lost.
        #expect(plan.insertions.map(\.seq) == [4])
        #expect(plan.removals.isEmpty && plan.deadLetters.isEmpty && plan.lostThrough.isEmpty)
    }

    @Test func theBoundTrimsTheOldestAsDeadLettersByPolicyAndCursor() throws {
        let state = InboxState(inboxes: [
            Self.u: InboxState.Inbox(
                lastSequence: 3, acknowledged: 1,
                messages: [Self.entry(1), Self.entry(2, keeps: false), Self.entry(3)])
        ])
        let plan = InboxPlanner.plan([Self.append([Self.message("x"), Self.message("y")], limit: 2)], state: state)
        // 1 was acknowledged and 2 is dropped by its policy: only 3 becomes a dead letter.
        #expect(plan.removals.map(\.seq) == [1, 2, 3])
        #expect(plan.deadLetters.map(\.seq) == [3])
        #expect(plan.deadLetters.first?.source == .stored)
        #expect(plan.lostThrough == [Self.u: 3])
        #expect(try plan.results[0].get().deadLettered == 1)
        #expect(plan.insertions.map(\.seq) == [4, 5])
    }

    @Test func aBatchPushesOutItsOwnMessages() throws {
        let plan = InboxPlanner.plan(
            [Self.append([Self.message("x"), Self.message("y"), Self.message("z")], limit: 1)], state: InboxState())
        #expect(plan.insertions.map(\.seq) == [3])
        #expect(plan.deadLetters.map(\.seq) == [1, 2])
        #expect(plan.deadLetters.map(\.source) == [.batch(request: 0, message: 0), .batch(request: 0, message: 1)])
        #expect(plan.removals.isEmpty)
        #expect(plan.lostThrough == [Self.u: 2])
    }

    /// The policy's smallest limit is 1: a limit of 0 keeps the newest message, as 1 does.
    @Test func aLimitBelowOneKeepsOneMessage() throws {
        let zero = InboxPlanner.plan([Self.append([Self.message("x"), Self.message("y")], limit: 0)], state: InboxState())
        let one = InboxPlanner.plan([Self.append([Self.message("x"), Self.message("y")], limit: 1)], state: InboxState())
        #expect(zero.insertions == one.insertions)
        #expect(zero.insertions.map(\.seq) == [2])
        #expect(zero.deadLetters == one.deadLetters)
    }

    @Test func idempotencyRecordsAnswerRetriesWithinTheWindow() throws {
        let recorded = InboxAppendResult(messages: [[UserSequence(user: "u", seq: 7)]], deadLettered: 1)
        let key = InboxState.RecordKey(app: "a", key: "k")
        let state = InboxState(records: [
            key: InboxState.Record(fingerprint: "f", result: recorded, createdAt: Self.t0)
        ])
        let retry = IdempotencyKey(key: "k", fingerprint: "f")
        let other = IdempotencyKey(key: "k", fingerprint: "g")
        let late = Self.t0.addingTimeInterval(InboxAppend.idempotencyWindow.timeInterval)
        let plan = InboxPlanner.plan(
            [
                Self.append([Self.message("x")], idempotency: retry),
                Self.append([Self.message("x")], idempotency: other),
                // Past the window the record is taken over: this one writes, and a retry of it replays it.
                Self.append([Self.message("y")], idempotency: other, now: late),
                Self.append([Self.message("y")], idempotency: other, now: late),
                Self.append([Self.message("z")], idempotency: retry, now: late),
            ],
            state: state)
        #expect(try plan.results[0].get() == recorded.asReplayed)
        #expect(plan.results[1] == .failure(.idempotencyConflict))
        let written = try plan.results[2].get()
        #expect(written.messages == [[UserSequence(user: "u", seq: 1)]] && !written.replayed)
        #expect(try plan.results[3].get() == written.asReplayed)
        #expect(plan.results[4] == .failure(.idempotencyConflict))
        #expect(plan.insertions.map(\.seq) == [1])
        #expect(plan.records.count == 1)
        #expect(plan.records.first?.fingerprint == "g" && plan.records.first?.createdAt == late)
    }

    @Test func anUnreadableRecordFailsItsRetry() {
        let key = InboxState.RecordKey(app: "a", key: "k")
        let state = InboxState(records: [key: InboxState.Record(fingerprint: "f", result: nil, createdAt: Self.t0)])
        let plan = InboxPlanner.plan(
            [Self.append([Self.message("x")], idempotency: IdempotencyKey(key: "k", fingerprint: "f"))], state: state)
        guard case .failure(.unavailable) = plan.results[0] else {
            Issue.record("expected the store to be unavailable, got \(plan.results[0])")
            return
        }
        #expect(plan.insertions.isEmpty && plan.records.isEmpty)
    }

    @Test func anExhaustedSequenceFailsOnlyItsRequest() throws {
        let state = InboxState(inboxes: [Self.u: InboxState.Inbox(lastSequence: UInt32.max - 1)])
        let plan = InboxPlanner.plan(
            [
                Self.append([Self.message("a"), Self.message("b")]),
                Self.append([Self.message("c")]),
                Self.append([Self.message("d")]),
            ],
            state: state)
        #expect(plan.results[0] == .failure(.sequenceExhausted(app: "a")))
        #expect(try plan.results[1].get().messages == [[UserSequence(user: "u", seq: UInt32.max)]])
        #expect(plan.results[2] == .failure(.sequenceExhausted(app: "a")))
        #expect(plan.exhaustsSequence)
        #expect(plan.insertions.map(\.seq) == [UInt32.max])
    }

    @Test func onlyInboxesThatMayPassTheirLimitAreRead() {
        let planner = InboxPlanner(
            batch: [
                Self.append([Self.message("x", users: ["u", "v"], collapseKey: "k")], limit: 5),
                Self.append([Self.message("y", users: ["u"])], limit: 4),
            ],
            records: [:])
        #expect(planner.copies == [Self.u: 2, InboxKey(app: "a", user: "v"): 1])
        let reads = planner.reads(lastSequences: [Self.u: 3, InboxKey(app: "a", user: "v"): 3])
        // u: 3 + 2 > 4, of which the newest 4 - 2 cannot be trimmed; v: 3 + 1 <= 5.
        #expect(reads == [Self.u: InboxPlanner.Read(skip: 2, collapseKeys: ["k"])])
    }

    /// An inbox read in part, as ``InboxPlanner/reads(lastSequences:)`` asks, plans as one read whole.
    @Test func aPartialReadPlansAsAWholeOne() throws {
        let stored = (1...8).map { Self.entry(UInt32($0), $0 == 7 ? "k" : nil, keeps: $0 != 3) }
        let batch = [Self.append([Self.message("x"), Self.message("y", collapseKey: "k"), Self.message("z")], limit: 6)]
        let whole = InboxPlanner.plan(
            batch, state: InboxState(inboxes: [Self.u: InboxState.Inbox(lastSequence: 8, acknowledged: 1, messages: stored)]))
        let planner = InboxPlanner(batch: batch, records: [:])
        let read = try #require(planner.reads(lastSequences: [Self.u: 8])[Self.u])
        #expect(read.skip == 3)
        let partial = planner.plan(
            InboxState(inboxes: [
                Self.u: InboxState.Inbox(
                    lastSequence: 8, acknowledged: 1, oldest: Array(stored.prefix(5)), skipped: read.skip,
                    collapsible: stored.filter { $0.collapseKey == "k" })
            ]))
        #expect(partial.insertions == whole.insertions)
        #expect(partial.removals == whole.removals)
        #expect(partial.deadLetters == whole.deadLetters)
        #expect(partial.lostThrough == whole.lostThrough)
        #expect(try partial.results[0].get() == whole.results[0].get())
        #expect(whole.removals.map(\.seq) == [1, 2, 3, 4])
    }
}
