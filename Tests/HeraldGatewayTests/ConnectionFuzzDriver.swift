import Foundation
import HeraldCore
import HeraldTestUtils
import HeraldWire
import NIOCore
import Testing

@testable import HeraldGateway

/// Plays the ``ConnectionHandler``'s part around a ``ConnectionStateMachine`` with random
/// input: client frames (valid, out of place, or garbage), token checks, replay loads and
/// parts, pages written, live pushes and batches, kicks, drains, ticks and closes, each only
/// when the handler could produce it. After every step it checks the machine's invariants
/// against what the driver itself saw go out.
struct ConnectionFuzzDriver {
    typealias Machine = ConnectionStateMachine

    static let configuration = Machine.Configuration(
        maxSessions: 3,
        maxSubscriptionsPerSession: 4,
        maxQueuedMessages: 6,
        maxHeldPushes: 12,
        authTimeoutTicks: 5,
        idleTimeoutTicks: 9,
        replayPageBytes: 120,
        maxAuthAttempts: 6
    )
    static let topics = ["news", "sport", "sport.live", "weather", "chat", "ops"]

    let seed: UInt64
    var random: SeededRandom
    var machine = Machine(configuration: Self.configuration)
    var now: UInt64 = 0
    /// The AUTH whose replay plan is loading, and its `resume.inbox`.
    var loadingAuth: (seq: UInt32, resumedInbox: UInt32)?
    /// The AUTH just sent, until its answer: its `resume.inbox`.
    var resumedInbox: [UInt32: UInt32] = [:]
    /// A page handed out with `.writePage`, whose write has not completed.
    var pageInFlight: UInt16?
    /// A session whose next replay part is being read.
    var partLoading: UInt16?
    /// Per session: the highest user sequence the machine was handed for it (its resume,
    /// replay parts, live messages), an upper bound for its cursor.
    var handed: [UInt16: UInt32] = [:]
    /// Per session: the highest user sequence that went out to it, a lower bound for what
    /// an ACK may reach.
    var written: [UInt16: UInt32] = [:]
    var nextUserSeq: UInt32 = 1
    var nextBroadcastSeq: UInt32 = 1
    var nextFrameSeq: UInt32 = 1
    /// Connections driven so far (a closed one is replaced by a new one).
    private(set) var connections = 1
    private(set) var steps = 0

    init(seed: UInt64) {
        self.seed = seed
        self.random = SeededRandom(seed: seed)
        self.start()
    }

    // MARK: Steps

    mutating func step() {
        self.steps += 1
        switch Int.random(in: 0..<100, using: &self.random) {
        case 0..<40: self.clientFrame()
        case 40..<50: self.replayPlanLoaded()
        case 50..<58: self.pageWritten()
        case 58..<64: self.partLoaded()
        case 64..<76: self.livePush()
        case 76..<84: self.liveBatch()
        case 84..<88: self.endSession()
        case 88..<89: self.drain()
        case 89..<97: self.tick()
        default: self.close()
        }
        self.checkInvariants()
    }

    private mutating func start() {
        self.machine = Machine(configuration: Self.configuration)
        self.loadingAuth = nil
        self.resumedInbox = [:]
        self.pageInFlight = nil
        self.partLoading = nil
        self.handed = [:]
        self.written = [:]
        _ = self.machine.connectionStarted(now: self.now)
    }

    /// A frame from the client: a message, or bytes that do not decode.
    private mutating func clientFrame() {
        self.machine.inputReceived(now: self.now)
        var bytes = ByteBuffer()
        let message = self.randomMessage()
        message.write(into: &bytes)
        if Int.random(in: 0..<10, using: &self.random) == 0 {
            self.corrupt(&bytes)
        }
        let frame: Frame
        do {
            guard let decoded = try FrameDecoder().next(from: &bytes) else {
                // A cut frame stays in the partial buffer until more comes.
                return
            }
            frame = decoded
        } catch {
            self.apply(self.machine.protocolViolation(seq: 0, error), for: nil)
            return
        }
        do {
            self.receive(try ClientMessage(frame))
        } catch {
            self.apply(self.machine.protocolViolation(seq: frame.seq, error), for: nil)
        }
    }

    private mutating func randomMessage() -> ClientMessage {
        let seq = self.nextFrameSeq
        self.nextFrameSeq += 1
        let session = UInt16.random(in: 0...7, using: &self.random)
        switch Int.random(in: 0..<7, using: &self.random) {
        case 0:
            let resume = Bool.random(using: &self.random)
                ? AuthRequest.Resume(inbox: UInt32.random(in: 0...self.nextUserSeq, using: &self.random)) : nil
            return .auth(seq: seq, AuthRequest(token: "t", resume: resume))
        case 1:
            return .ping(seq: seq)
        case 2, 3:
            // Around what was sent: below, at, and above it.
            let ackSeq = UInt32.random(in: 0...(self.nextUserSeq + 3), using: &self.random)
            let kind: PushKind = Int.random(in: 0..<5, using: &self.random) == 0 ? .broadcast : .user
            return .ack(seq: ackSeq, AckBody(session: session, kind: kind))
        case 4:
            return .subscribe(seq: seq, TopicsRequest(session: session, topics: self.randomTopics()))
        case 5:
            return .unsubscribe(seq: seq, TopicsRequest(session: session, topics: self.randomTopics()))
        default:
            return .upstream(seq: seq, UpstreamBody(session: session, payload: ByteBuffer(string: "up")))
        }
    }

    private mutating func randomTopics() -> [String] {
        (0..<Int.random(in: 0...3, using: &self.random)).map { _ in
            Int.random(in: 0..<30, using: &self.random) == 0 ? "bad*topic" : Self.topics.randomElement(using: &self.random) ?? "news"
        }
    }

    /// Flips, cuts or lengthens the frame.
    private mutating func corrupt(_ bytes: inout ByteBuffer) {
        guard bytes.readableBytes > 0 else { return }
        switch Int.random(in: 0..<3, using: &self.random) {
        case 0:
            let index = bytes.readerIndex + Int.random(in: 0..<bytes.readableBytes, using: &self.random)
            let byte = bytes.getInteger(at: index, as: UInt8.self) ?? 0
            bytes.setInteger(byte ^ UInt8.random(in: 1...255, using: &self.random), at: index)
        case 1:
            bytes.moveWriterIndex(to: bytes.readerIndex + Int.random(in: 0..<bytes.readableBytes, using: &self.random))
        default:
            bytes.writeBytes((0..<Int.random(in: 1...8, using: &self.random)).map { _ in UInt8.random(in: 0...255, using: &self.random) })
        }
    }

    /// Hands a decoded message to the machine, and checks that an ACK it took moved the cursor.
    private mutating func receive(_ message: ClientMessage) {
        let (queued, state) = (self.machine.queuedMessageCount, self.machine.state)
        let action = self.machine.received(message)
        let taken = self.machine.queuedMessageCount <= queued && state == .active
        self.apply(action, for: message)
        // An ACK of what went out moves the cursor to it: one clamped lower would be replayed.
        guard taken, case .ack(let seq, let body) = message, body.kind == .user,
            let session = self.machine.sessions[body.session], seq <= self.written[body.session] ?? 0
        else { return }
        switch action {
        case .none, .acknowledge:
            #expect(
                session.acknowledgedUserSequence >= seq,
                "seed \(self.seed): ACK \(seq) of session \(body.session), which was sent it, did not move the cursor"
            )
        default:
            break
        }
    }

    private mutating func apply(_ action: Machine.Action, for message: ClientMessage?) {
        #expect(self.machine.queuedMessageCount <= Self.configuration.maxQueuedMessages, "seed \(self.seed)")
        switch action {
        case .none, .sendPong, .unsubscribed:
            break
        case .authenticate(let seq, let request):
            self.verifyToken(seq: seq, resumedInbox: request.resume?.inbox ?? 0)
        case .acknowledge(let acknowledgement):
            guard case .ack(_, let body) = message else {
                Issue.record("seed \(self.seed): an ACK went to the cursor writer for another frame")
                return
            }
            #expect(
                acknowledgement.seq <= self.handed[body.session] ?? 0,
                "seed \(self.seed): an ACK moved the cursor of session \(body.session) past what it was sent"
            )
        case .sendError(_, _, let closeConnection):
            if closeConnection { #expect(self.machine.state == .closing, "seed \(self.seed)") }
        case .subscribed(_, _, _, let added):
            if case .subscribe(_, let request) = message {
                #expect(added.count <= request.topics.count, "seed \(self.seed)")
            }
        }
    }

    /// The handler verifies the token at once.
    private mutating func verifyToken(seq: UInt32, resumedInbox: UInt32) {
        if Int.random(in: 0..<5, using: &self.random) == 0 {
            self.authCompleted(self.machine.authFailed(seq: seq, ProtocolError(.authFailed, "the token is invalid")))
            return
        }
        let user = ["alice", "bob"].randomElement(using: &self.random) ?? "alice"
        let device = ["phone", "tablet"].randomElement(using: &self.random)
        let topics: [String]? = Bool.random(using: &self.random) ? nil : ["news", "sport.*"]
        switch self.machine.authVerified(seq: seq, token: Fixtures.verified(user: user, device: device, topics: topics))
        {
        case .loadReplay:
            self.loadingAuth = (seq, resumedInbox)
        case .closeConnection:
            Issue.record("seed \(self.seed): a verified token reached a state it cannot happen in")
        }
    }

    private mutating func replayPlanLoaded() {
        guard let (seq, resumedInbox) = self.loadingAuth else { return }
        self.loadingAuth = nil
        if Int.random(in: 0..<8, using: &self.random) == 0 {
            self.authCompleted(self.machine.authFailed(seq: seq, ProtocolError(.internal, "the store failed")))
            return
        }
        let plan = self.randomPlan()
        let action = self.machine.replayLoaded(seq: seq, plan: plan)
        if case .sessionOpened(_, let session, _, _, _) = action {
            // Live messages held while it opened count too.
            let replayed = plan.pushes.filter { $0.kind == .user }.map(\.seq).max() ?? 0
            self.handed[session.number] = max(self.handed[session.number] ?? 0, resumedInbox, replayed)
            self.written[session.number] = max(self.written[session.number] ?? 0, resumedInbox)
        }
        self.authCompleted(action)
    }

    private mutating func authCompleted(_ action: Machine.AuthCompletionAction) {
        switch action {
        case .none:
            break
        case .closeConnection:
            Issue.record("seed \(self.seed): an AUTH's answer reached a state it cannot happen in")
        case .sendError, .sessionOpenedAndEnded:
            self.takeQueuedMessages()
        case .sessionOpened(_, _, _, let replay, _):
            self.run(replay)
        }
    }

    private mutating func takeQueuedMessages() {
        var taken = 0
        while let message = self.machine.nextQueuedMessage() {
            taken += 1
            // Bounded work: never more than the queue holds.
            guard taken <= Self.configuration.maxQueuedMessages else {
                Issue.record("seed \(self.seed): the queue gave more messages than it may hold")
                return
            }
            self.receive(message)
        }
    }

    private mutating func run(_ action: Machine.ReplayAction) {
        switch action {
        case .none:
            break
        case .writePage(let session, let pushes):
            self.checkPage(pushes, session: session)
            self.pageInFlight = session
        case .writeLastPage(let session, let pushes):
            self.checkPage(pushes, session: session)
            self.run(self.machine.replayWritten(session: session))
        case .writeHeld(let frames):
            for frame in frames { self.noteWritten(frame) }
            self.takeQueuedMessages()
        case .loadMore(let session, _):
            self.partLoading = session
        case .fail:
            // The handler writes ERROR and closes.
            #expect(self.machine.state != .closed, "seed \(self.seed)")
        }
    }

    private mutating func checkPage(_ pushes: ArraySlice<ReplayPlan.Push>, session: UInt16) {
        #expect(!pushes.isEmpty, "seed \(self.seed): an empty replay page")
        // A page ends with the push that reaches the page size.
        let bytes = pushes.dropLast().reduce(0) { $0 + Frame.headerSize + PushBody.fixedSize + $1.payload.readableBytes }
        #expect(bytes < Self.configuration.replayPageBytes, "seed \(self.seed): a replay page is larger than it may be")
        for push in pushes where push.kind == .user {
            self.written[session] = max(self.written[session] ?? 0, push.seq)
        }
    }

    private mutating func pageWritten() {
        guard let session = self.pageInFlight else { return }
        self.pageInFlight = nil
        self.run(self.machine.replayPageWritten(session: session))
    }

    private mutating func partLoaded() {
        guard let session = self.partLoading else { return }
        self.partLoading = nil
        if Int.random(in: 0..<10, using: &self.random) == 0 {
            self.run(self.machine.replayContinuationFailed(session: session))
            return
        }
        let plan = self.randomPlan()
        if self.machine.isReplaying(session) {
            let highest = plan.pushes.filter { $0.kind == .user }.map(\.seq).max() ?? 0
            self.handed[session] = max(self.handed[session] ?? 0, highest)
        }
        self.run(self.machine.replayContinued(session: session, plan: plan))
    }

    /// A replay part: messages stored before now, perhaps more to read.
    private mutating func randomPlan() -> ReplayPlan {
        var pushes: [ReplayPlan.Push] = []
        for _ in 0..<Int.random(in: 0...6, using: &self.random) {
            let kind: PushKind = [.user, .user, .broadcast, .topic].randomElement(using: &self.random) ?? .user
            pushes.append(
                ReplayPlan.Push(
                    seq: self.takeSeq(kind),
                    kind: kind,
                    ackRequired: kind == .user,
                    payload: ByteBuffer(repeating: 0x61, count: Int.random(in: 0...60, using: &self.random))
                )
            )
        }
        let more = Int.random(in: 0..<3, using: &self.random) == 0
            ? nil : ReplayContinuation { $0.makeFailedFuture(ReadNotExpected()) }
        return Fixtures.plan(pushes: pushes, more: more)
    }

    private mutating func takeSeq(_ kind: PushKind) -> UInt32 {
        switch kind {
        case .user:
            defer { self.nextUserSeq += 1 }
            return self.nextUserSeq
        case .broadcast:
            defer { self.nextBroadcastSeq += 1 }
            return self.nextBroadcastSeq
        case .topic:
            return 0
        }
    }

    /// A session number the shard may still have indexed: open, opening, or recently gone.
    private mutating func targetSession() -> UInt16 {
        UInt16.random(in: 1...7, using: &self.random)
    }

    private mutating func livePush() {
        let session = self.targetSession()
        let kind: PushKind = [.user, .user, .broadcast, .topic].randomElement(using: &self.random) ?? .user
        // Live messages may arrive out of order, or repeat what a replay carried.
        let seq = Bool.random(using: &self.random) ? self.takeSeq(kind) : (kind == .topic ? 0 : UInt32.random(in: 1...max(1, self.nextSeq(kind)), using: &self.random))
        let push = HeldPush(frame: Self.pushFrame(seq: seq, kind: kind, session: session), kind: kind, seq: seq)
        let wasHeld = self.machine.heldPushCount
        let action = self.machine.livePush(push, session: session)
        if case .user = kind, self.machine.session(session) != nil {
            self.handed[session] = max(self.handed[session] ?? 0, seq)
        }
        switch action {
        case .write:
            self.noteWritten(push.frame)
        case .writeFrames(let frames):
            for frame in frames { self.noteWritten(frame) }
        case .held:
            #expect(self.machine.heldPushCount == wasHeld + 1, "seed \(self.seed)")
        case .drop:
            break
        case .closeSlowConsumer:
            #expect(wasHeld == Self.configuration.maxHeldPushes, "seed \(self.seed): closed as slow below the limit")
            self.closeSlowConsumer()
        }
    }

    private mutating func liveBatch() {
        let session = self.targetSession()
        var pushes: [FanOutQueue.Push] = []
        for _ in 0..<Int.random(in: 1...5, using: &self.random) {
            let kind: PushKind = Bool.random(using: &self.random) ? .broadcast : .topic
            let seq = kind == .topic ? 0 : (Int.random(in: 0..<4, using: &self.random) == 0
                ? UInt32.random(in: 1...max(1, self.nextBroadcastSeq), using: &self.random) : self.takeSeq(kind))
            pushes.append(FanOutQueue.Push(seq: seq, kind: kind, topic: kind == .topic ? "news" : "", payload: ByteBuffer(string: "b")))
        }
        let batch = PushBatch(pushes, session: session)
        switch self.machine.liveBatch(batch, session: session) {
        case .write:
            for push in batch.frames { self.noteWritten(push.frame) }
        case .writeFrames(let frames):
            for frame in frames { self.noteWritten(frame) }
        case .held, .drop:
            break
        case .closeSlowConsumer:
            self.closeSlowConsumer()
        }
    }

    private func nextSeq(_ kind: PushKind) -> UInt32 {
        kind == .broadcast ? self.nextBroadcastSeq : self.nextUserSeq
    }

    /// The handler closes a slow consumer outright.
    private mutating func closeSlowConsumer() {
        self.closeConnection()
    }

    private mutating func endSession() {
        let reason: GoAwayReason = Bool.random(using: &self.random) ? .kicked : .replaced
        _ = self.machine.endSession(self.targetSession(), reason: reason)
    }

    private mutating func drain() {
        _ = self.machine.drain(retryAfterMs: 1000)
    }

    private mutating func tick() {
        self.now += UInt64.random(in: 1...4, using: &self.random)
        switch self.machine.deadlineReached(now: self.now) {
        case .armDeadline(_, let tick):
            #expect(tick >= self.now || self.machine.state == .awaitingFirstAuth, "seed \(self.seed)")
        case .sendErrorAndClose:
            #expect(self.machine.state == .closing, "seed \(self.seed)")
        case .close:
            self.closeConnection()
        }
    }

    /// The channel closes: by the peer at any time, or after the machine's closing frame.
    private mutating func close() {
        guard self.machine.state == .closing || Int.random(in: 0..<4, using: &self.random) == 0 else { return }
        self.closeConnection()
    }

    private mutating func closeConnection() {
        _ = self.machine.connectionClosed()
        #expect(!self.machine.hasSessions && self.machine.heldPushCount == 0, "seed \(self.seed)")
        // A closed connection's pending callbacks never reach the machine: a new one starts.
        self.connections += 1
        self.start()
    }

    /// Notes a live or held frame that went out.
    private mutating func noteWritten(_ frame: ByteBuffer) {
        var frame = frame
        guard let decoded = try? FrameDecoder().next(from: &frame),
            case .push(let seq, _, let push)? = try? ServerMessage(decoded)
        else {
            Issue.record("seed \(self.seed): a written frame is not a PUSH")
            return
        }
        if push.kind == .user, seq != 0 {
            self.written[push.session] = max(self.written[push.session] ?? 0, seq)
        }
    }

    static func pushFrame(seq: UInt32, kind: PushKind, session: UInt16) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.writePushFrame(seq: seq, session: session, kind: kind, topic: kind == .topic ? "news" : "", payload: ByteBuffer(string: "p"))
        return buffer
    }

    // MARK: Invariants

    private func checkInvariants() {
        let configuration = Self.configuration
        #expect(self.machine.sessions.count <= configuration.maxSessions, "seed \(self.seed): too many sessions")
        #expect(self.machine.heldPushCount <= configuration.maxHeldPushes, "seed \(self.seed): too many held pushes")
        #expect(self.machine.queuedMessageCount <= configuration.maxQueuedMessages, "seed \(self.seed)")
        for session in self.machine.sessions.values {
            #expect(
                session.subscriptions.count <= configuration.maxSubscriptionsPerSession,
                "seed \(self.seed): session \(session.number) holds too many subscriptions"
            )
            #expect(
                session.acknowledgedUserSequence <= self.handed[session.number] ?? 0,
                "seed \(self.seed): the cursor of session \(session.number) is above what it was sent"
            )
            #expect(
                session.acknowledgedUserSequence <= session.sentUserSequence,
                "seed \(self.seed): session \(session.number) acknowledged more than it was sent"
            )
        }
    }

    /// The driver answers reads itself: a continuation is never run.
    struct ReadNotExpected: Error {}
}
