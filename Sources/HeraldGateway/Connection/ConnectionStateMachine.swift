import DequeModule
import HeraldCore
import HeraldWire
import NIOCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The protocol rules of one client connection (docs/protocol.md, "Authentication and
/// sessions"), with no channel and no clock inside: events in, actions out. The
/// ``ConnectionHandler`` does the I/O and carries out the actions; time comes in as ticks of
/// its shard's timing wheel, and the deadlines to arm go out as ``TimerAction`` values.
///
/// - Session numbers count up from 1 and are not reused until the `u16` counter wraps, so a
///   late message for an ended session never reaches a newer one (0 is never used: it means
///   "the connection" in GOAWAY).
/// - AUTH is three steps: ``received(_:)`` answers `.authenticate`; the handler verifies the
///   token and calls ``authVerified(seq:token:since:)``, which opens the session as *opening*:
///   the handler indexes it for fan-out at once and the machine holds its live messages while
///   the replay plan loads, so that nothing stored meanwhile is missed; then
///   ``replayLoaded(seq:plan:)`` (or ``authFailed(seq:_:)``). Messages that arrive meanwhile
///   are queued in order (bounded); the handler pulls them with ``nextQueuedMessage()`` once
///   the AUTH completed.
/// - A replay is written in pages of about `replayPageBytes` (``ReplayAction``), the next once
///   the last went to the socket. Live messages stay held until the last page, at most
///   `maxHeldPushes` of them (one more closes the connection as a slow consumer), and are then
///   written less what the replay carried: user messages by inbox sequence, broadcasts by the
///   highest the session has. Live broadcasts at or below that are dropped afterwards too.
/// - The session limit is checked when the AUTH arrives, before the token is verified: an
///   AUTH that would replace a session of the same device on this connection also counts.
/// - The per-session subscription limit answers `forbidden_topic`: retrying later cannot help,
///   which `rate_limited` would suggest.
/// - The server ends a session with ``endSession(_:reason:)`` (a kick, a replace by a session
///   elsewhere), whatever node the reason comes from.
/// - An event that cannot happen in the state it arrives in is a bug of the handler: it stops
///   a debug build, and closes the connection in a release build.
struct ConnectionStateMachine {
    /// Limits and values the state machine needs.
    struct Configuration: Sendable {
        var maxSessions: Int = 8
        var maxSubscriptionsPerSession: Int = 256
        /// Messages kept while an AUTH is pending; more are answered `rate_limited`.
        var maxQueuedMessages: Int = 64
        var heartbeatSeconds: Int = 30
        var nodeID: String = "local"
        /// Live pushes held for a session whose replay is loading or being written; one more
        /// closes the connection as a slow consumer.
        var maxHeldPushes: Int = 4096
        /// Ticks from the connection's start to its first AUTH_OK.
        var authTimeoutTicks: UInt64 = 101
        /// Ticks without input after which an authenticated connection is closed.
        var idleTimeoutTicks: UInt64 = 701
        /// Ticks a connection may spend writing its last frame before it is closed outright.
        var closeGraceTicks: UInt64 = 20
        /// Bytes of replay written at a time (a page ends with the push that reaches it).
        var replayPageBytes: Int = 64 * 1024
        /// AUTHs whose token verified that one connection may make (below `UInt16.max`); more
        /// are answered `rate_limited`. Each loads a replay, and a re-AUTH of the same device
        /// loads it again.
        var maxAuthAttempts: Int = 16
    }

    /// The configuration, shared: every connection's machine holds it, and inline it would
    /// be a dozen words.
    final class SharedConfiguration: Sendable {
        let value: Configuration

        init(_ value: Configuration) {
            self.value = value
        }
    }

    /// One open session of this connection: what it is for and what it did, about 80 bytes,
    /// kept inline (a connection has one session, almost always).
    struct Session: Sendable, Hashable {
        var number: UInt16
        /// Highest user-message (kind 0) sequence acknowledged: the seam of QoS 1 cursors.
        var acknowledgedUserSequence: UInt32 = 0
        /// Highest broadcast (kind 1) sequence written to the session, by its replay or live:
        /// a broadcast at or below it is a duplicate or would arrive out of order.
        var writtenBroadcastSequence: UInt32 = 0
        /// Highest user-message sequence sent to the session (its replay, live messages, or
        /// what its AUTH's `resume.inbox` says the device has): an ACK above it is clamped to it.
        /// Fills the padding before `app`, so the session is no larger.
        var sentUserSequence: UInt32 = 0
        /// The app's id as the app registry holds it, so its storage is shared.
        let app: String
        let user: String
        let device: String
        let since: Date
        /// What the token's `topics` claim allows.
        let topics: TopicPermissions
        /// By bytes, as every id (``ByteString``).
        var subscriptions: Set<ByteString> = []

        init(number: UInt16, token: VerifiedToken, since: Date) {
            self.number = number
            self.app = token.app.id
            self.user = token.user
            self.device = token.device
            self.since = since
            self.topics = token.topics
        }

        /// What the session directory knows of it: `connection` and `generation` are the
        /// gateway's (the shard's connection number, the session's generation on the node).
        func info(node: String, connection: ConnectionID, generation: UInt64) -> SessionInfo {
            SessionInfo(
                app: self.app,
                user: self.user,
                device: self.device,
                id: SessionID(
                    node: node, connection: connection.rawValue, number: self.number, generation: generation),
                since: self.since,
                order: generation
            )
        }

        /// Whether `other` is the same (app, user, device), byte for byte.
        func hasSameIdentity(as other: Session) -> Bool {
            ByteString.same(self.app, other.app) && ByteString.same(self.user, other.user)
                && ByteString.same(self.device, other.device)
        }
    }

    /// The AUTH being verified and the session it opens. Boxed (`indirect`): it lives for one
    /// AUTH, and inline it would cost every connection two sessions' worth of bytes.
    private struct PendingAuth: Sendable {
        var seq: UInt32
        /// The AUTH's `resume.inbox`: what the device says it was sent before.
        var resumedInbox: UInt32 = 0
        /// The session whose token verified and whose replay is loading.
        var opening: Session?
        /// The opening session, if the server ended it before its replay loaded, and why.
        var endedWhileOpening: (session: Session, reason: GoAwayReason)?
    }

    /// A replay being written page by page. Boxed like ``PendingAuth``.
    private struct Replay: Sendable {
        let session: UInt16
        /// The part of the replay read so far and not yet all written.
        var pushes: [ReplayPlan.Push]
        /// How many of `pushes` went out in pages so far.
        var position = 0
        /// The next read of the store, once `pushes` are written.
        var more: ReplayContinuation?
        /// The highest inbox sequence the replay carried so far (the held messages at or
        /// below it are dropped when it ends).
        var replayedUser: UInt32 = 0
        /// A read of `more` is under way.
        var isLoading = false
    }

    private enum Authentication: Sendable {
        case none
        indirect case pending(PendingAuth)
        /// AUTH_OK went out and the session is open, but its replay is still being written
        /// page by page: its live messages are held, and a further AUTH waits (with whatever
        /// was sent after it), so that only one replay is under way per connection.
        indirect case replaying(Replay)
    }

    enum State: Sendable, Hashable {
        /// No AUTH_OK yet: only AUTH and PING are allowed.
        case awaitingFirstAuth
        /// At least one AUTH_OK was sent; the connection ends with its last session.
        case active
        /// An ERROR or GOAWAY that ends the connection was sent: input is ignored.
        case closing
        case closed
    }

    // In this order, the one-byte state packs after the two-byte counter.
    private let sharedConfiguration: SharedConfiguration
    private(set) var sessions = SessionTable()
    private var authentication: Authentication = .none
    private var queue: Deque<ClientMessage> = []
    /// Live pushes for the opening or replaying session, held until its replay is written.
    private var held: [HeldPush] = []
    /// The tick of the client's last input.
    private var lastInputTick: UInt64 = 0
    /// Before the first AUTH_OK: the tick at which the auth timeout is checked.
    private var authDeadlineTick: UInt64 = 0
    /// Also counts the AUTHs whose token verified: each takes the next number, and the AUTH
    /// limit (below `UInt16.max`) stops them before the counter wraps. No field of its own:
    /// every idle connection keeps this machine.
    private var nextSessionNumber: UInt16 = 1
    private(set) var state: State = .awaitingFirstAuth

    init(configuration: Configuration = Configuration()) {
        self.sharedConfiguration = SharedConfiguration(configuration)
    }

    init(configuration: SharedConfiguration) {
        self.sharedConfiguration = configuration
    }

    var configuration: Configuration { self.sharedConfiguration.value }

    /// The seq of the AUTH being verified, if any.
    var pendingAuth: UInt32? {
        guard case .pending(let pending) = self.authentication else { return nil }
        return pending.seq
    }

    /// The session whose token verified and whose replay is loading.
    var opening: Session? {
        guard case .pending(let pending) = self.authentication else { return nil }
        return pending.opening
    }

    /// Session `number`, open or opening, if the connection has it.
    func session(_ number: UInt16) -> Session? {
        if let session = self.sessions[number] { return session }
        if let opening = self.opening, opening.number == number { return opening }
        return nil
    }

    /// Whether `number` is the opening session (cheaper than reading ``opening``).
    func isOpening(_ number: UInt16) -> Bool {
        guard case .pending(let pending) = self.authentication else { return false }
        return pending.opening?.number == number
    }

    /// Whether session `number` is open but its replay is still being written.
    func isReplaying(_ number: UInt16) -> Bool {
        guard case .replaying(let replay) = self.authentication else { return false }
        return replay.session == number
    }

    /// Whether live messages for session `number` are held rather than written: it is
    /// opening (its replay is loading) or its replay is being written.
    func holdsPushes(for number: UInt16) -> Bool {
        switch self.authentication {
        case .none: false
        case .pending(let pending): pending.opening?.number == number
        case .replaying(let replay): replay.session == number
        }
    }

    /// Live messages held for the opening or replaying session.
    var heldPushCount: Int { self.held.count }

    /// The highest broadcast sequence written to the open session `number`; nil when it is
    /// not open.
    func writtenBroadcastSequence(of number: UInt16) -> UInt32? {
        self.sessions.writtenBroadcastSequence(of: number)
    }

    /// Notes that broadcasts up to `seq` were written to the open session `number`.
    mutating func broadcastWritten(session number: UInt16, seq: UInt32) {
        self.sessions.noteWrittenBroadcast(seq, of: number)
    }

    /// Whether live messages for session `number` are written now: the connection is active
    /// and the session open.
    func acceptsPushes(for number: UInt16) -> Bool {
        self.state == .active && self.sessions.contains(number)
    }

    private var endedWhileOpening: (session: Session, reason: GoAwayReason)? {
        guard case .pending(let pending) = self.authentication else { return nil }
        return pending.endedWhileOpening
    }

    /// Whether the connection has open sessions.
    var hasSessions: Bool { !self.sessions.isEmpty }

    /// Whether the connection got its first AUTH_OK.
    var isAuthenticated: Bool {
        switch self.state {
        case .active: true
        case .awaitingFirstAuth: false
        case .closing, .closed: !self.sessions.isEmpty
        }
    }

    /// Messages waiting for a pending AUTH.
    var queuedMessageCount: Int { self.queue.count }

    // MARK: Client input

    /// A message decoded from a frame.
    mutating func received(_ message: ClientMessage) -> Action {
        switch self.state {
        case .closing, .closed:
            // The peer may go on sending until the close is done; the closing frame was the answer.
            return .none
        case .awaitingFirstAuth, .active:
            break
        }
        if self.mustQueue(message) {
            guard self.queue.count < self.configuration.maxQueuedMessages else {
                return .sendError(
                    seq: message.seq,
                    ProtocolError(.rateLimited, "too many requests while an AUTH is pending"),
                    closeConnection: false
                )
            }
            // Answered when the handler takes it again with nextQueuedMessage().
            self.queue.append(message)
            return .none
        }
        return self.process(message)
    }

    /// Whether `message` waits behind the AUTH under way: everything while an AUTH is being
    /// verified; while a replay is being written, another AUTH and whatever follows it.
    private func mustQueue(_ message: ClientMessage) -> Bool {
        switch self.authentication {
        case .none:
            return false
        case .pending:
            return true
        case .replaying:
            if !self.queue.isEmpty { return true }
            if case .auth = message { return true }
            return false
        }
    }

    /// The next queued message, once no AUTH is pending or replaying; feed it to
    /// ``received(_:)``.
    mutating func nextQueuedMessage() -> ClientMessage? {
        guard case .none = self.authentication else { return nil }
        switch self.state {
        case .awaitingFirstAuth, .active: return self.queue.popFirst()
        case .closing, .closed: return nil
        }
    }

    /// A frame that did not decode, or a message that breaks the framing: ERROR and close.
    mutating func protocolViolation(seq: UInt32, _ error: ProtocolError) -> Action {
        switch self.state {
        case .closing, .closed:
            // The rest of a read, or a codec's error, after the closing frame: nothing to add.
            return .none
        case .awaitingFirstAuth, .active:
            self.startClosing()
            return .sendError(seq: seq, error, closeConnection: true)
        }
    }

    // MARK: Authentication

    /// The token verified at `since`: the session opens, indexed but holding its live
    /// messages until ``replayLoaded(seq:plan:)``.
    mutating func authVerified(seq: UInt32, token: VerifiedToken, since: Date) -> OpeningAction {
        // The handler verifies the token right after `.authenticate`, with nothing in between.
        guard case .pending(var pending) = self.authentication, pending.seq == seq, pending.opening == nil,
            self.state == .awaitingFirstAuth || self.state == .active
        else {
            self.unexpected("The token of AUTH \(seq) verified")
            return .closeConnection
        }
        var session = Session(number: self.allocateSessionNumber(), token: token, since: since)
        session.sentUserSequence = pending.resumedInbox
        pending.opening = session
        pending.endedWhileOpening = nil
        self.authentication = .pending(pending)
        self.held = []
        return .loadReplay(session)
    }

    /// The opening session's replay plan is ready: it becomes open.
    mutating func replayLoaded(seq: UInt32, plan: ReplayPlan) -> AuthCompletionAction {
        let opening: Session?
        let ended: (session: Session, reason: GoAwayReason)?
        switch self.finishPendingAuth(seq, event: "The replay of AUTH \(seq) loaded") {
        case .stale: return .none
        case .unexpected: return .closeConnection
        case .finished(let session, let endedSession):
            (opening, ended) = (session, endedSession)
        }
        if let ended {
            // Ended while loading: the client still learns the session's number from AUTH_OK.
            self.held = []
            let number = ended.session.number
            let authOK = self.authOK(for: ended.session, plan: plan)
            let close = self.sessions.isEmpty
            if close { self.startClosing() } else { self.state = .active }
            return .sessionOpenedAndEnded(
                seq: seq,
                authOK,
                GoAway(session: number, reason: ended.reason, reconnect: false),
                closeConnection: close
            )
        }
        guard var session = opening else {
            // Only a drain forgets the opening session, and it leaves the connection closing.
            self.unexpected("The replay of AUTH \(seq) loaded before its token verified")
            return .closeConnection
        }
        for push in plan.pushes {
            switch push.kind {
            case .broadcast: session.writtenBroadcastSequence = max(session.writtenBroadcastSequence, push.seq)
            case .user: session.sentUserSequence = max(session.sentUserSequence, push.seq)
            case .topic: break
            }
        }
        var replaced: Session?
        if let old = self.sessions.first(where: { $0.hasSameIdentity(as: session) }) {
            replaced = self.sessions.removeValue(forKey: old.number)
        }
        self.sessions[session.number] = session
        self.state = .active
        let replay: ReplayAction
        if plan.pushes.isEmpty {
            replay = .writeHeld(self.releaseHeld(session: session.number, replayedUser: 0))
        } else {
            replay = self.nextReplayPage(Replay(session: session.number, pushes: plan.pushes, more: plan.more))
        }
        return .sessionOpened(
            seq: seq,
            session,
            self.authOK(for: session, plan: plan),
            replay: replay,
            replaced: replaced
        )
    }

    /// The token was refused (or the replay could not be loaded).
    mutating func authFailed(seq: UInt32, _ error: ProtocolError) -> AuthCompletionAction {
        switch self.finishPendingAuth(seq, event: "AUTH \(seq) failed") {
        case .stale:
            return .none
        case .unexpected:
            return .closeConnection
        case .finished(let abandoned, _):
            self.held = []
            let close = error.code.closesConnection(hasSessions: self.hasSessions)
            if close { self.startClosing() }
            return .sendError(seq: seq, error, closeConnection: close, abandoned: abandoned)
        }
    }

    private enum PendingAuthEnd {
        case finished(opening: Session?, ended: (session: Session, reason: GoAwayReason)?)
        /// The connection is closing or closed (a drain, an error or the close took care of
        /// the AUTH): its answer is not wanted any more.
        case stale
        /// No such AUTH was pending (a bug).
        case unexpected
    }

    /// Ends the pending AUTH `seq` and hands over its opening session.
    private mutating func finishPendingAuth(_ seq: UInt32, event: @autoclosure () -> String) -> PendingAuthEnd {
        switch self.state {
        case .closing, .closed:
            if case .pending(let pending) = self.authentication, pending.seq == seq {
                self.authentication = .none
            }
            return .stale
        case .awaitingFirstAuth, .active:
            // Each AUTH is answered once, and only the close or its answer ends it.
            guard case .pending(let pending) = self.authentication, pending.seq == seq else {
                self.unexpected(event())
                return .unexpected
            }
            self.authentication = .none
            return .finished(opening: pending.opening, ended: pending.endedWhileOpening)
        }
    }

    // MARK: Replay

    /// The page of session `number`'s replay that was written last went to the socket: the
    /// next page, or the last.
    mutating func replayPageWritten(session number: UInt16) -> ReplayAction {
        guard case .replaying(let replay) = self.authentication, replay.session == number else {
            // The replay ended meanwhile with its session (kicked, drained, closed).
            return .none
        }
        return self.nextReplayPage(replay)
    }

    /// The last page of session `number`'s replay was written: the replay phase ends, the
    /// held messages go out, and queued messages (a further AUTH) are taken again.
    mutating func replayWritten(session number: UInt16) -> ReplayAction {
        guard case .replaying(let replay) = self.authentication, replay.session == number else {
            switch self.state {
            case .closing, .closed:
                // Writing the last page closed the connection (a slow consumer).
                return .none
            case .awaitingFirstAuth, .active:
                self.unexpected("The replay of session \(number) was written")
                return .none
            }
        }
        assert(
            replay.position == replay.pushes.count && replay.more == nil,
            "The replay of session \(number) was written before its last page was handed out."
        )
        return self.finishReplay(replay)
    }

    /// The next read of session `number`'s replay came back: its pages follow.
    mutating func replayContinued(session number: UInt16, plan: ReplayPlan) -> ReplayAction {
        guard case .replaying(var replay) = self.authentication, replay.session == number, replay.isLoading else {
            // The replay ended meanwhile with its session (kicked, drained, closed).
            return .none
        }
        replay.pushes = plan.pushes
        replay.position = 0
        replay.more = plan.pushes.isEmpty ? nil : plan.more
        replay.isLoading = false
        // A store that found nothing more ends the replay, whatever it said of the rest.
        guard !plan.pushes.isEmpty else { return self.finishReplay(replay) }
        // As for the first part: an ACK of what this part carries must not be clamped below it,
        // or the cursor stays behind and the next connection replays it all again.
        if let highest = plan.pushes.lazy.filter({ $0.kind == .user }).map(\.seq).max() {
            self.sessions.noteSentUser(highest, of: number)
        }
        return self.nextReplayPage(replay)
    }

    /// The next read of session `number`'s replay failed: the session cannot be brought up to
    /// date, so the connection closes (the client reconnects and resumes from its cursor).
    mutating func replayContinuationFailed(session number: UInt16) -> ReplayAction {
        guard case .replaying(let replay) = self.authentication, replay.session == number, replay.isLoading else {
            return .none
        }
        self.authentication = .none
        return .fail(ProtocolError(.internal, "could not load the rest of what this session missed; reconnect"))
    }

    /// Ends the replay phase: the held messages go out, less those the replay carried.
    private mutating func finishReplay(_ replay: Replay) -> ReplayAction {
        self.authentication = .none
        return .writeHeld(self.releaseHeld(session: replay.session, replayedUser: replay.replayedUser))
    }

    /// Hands out the next page of `replay`, about `replayPageBytes` of frames, or asks for
    /// the next read of the store once everything read so far is written.
    private mutating func nextReplayPage(_ replay: Replay) -> ReplayAction {
        var replay = replay
        let start = replay.position
        if start == replay.pushes.count, let more = replay.more {
            replay.isLoading = true
            replay.more = nil
            self.authentication = .replaying(replay)
            return .loadMore(session: replay.session, more)
        }
        var bytes = 0
        while bytes < self.configuration.replayPageBytes, replay.position < replay.pushes.count {
            let push = replay.pushes[replay.position]
            bytes += Frame.headerSize + PushBody.fixedSize + push.payload.readableBytes
            if push.kind == .user { replay.replayedUser = max(replay.replayedUser, push.seq) }
            replay.position += 1
        }
        let page = replay.pushes[start..<replay.position]
        let session = replay.session
        let isLast = replay.position == replay.pushes.count && replay.more == nil
        self.authentication = .replaying(replay)
        return isLast ? .writeLastPage(session: session, page) : .writePage(session: session, page)
    }

    /// The held messages of `session`, less those its replay carried: user messages by inbox
    /// sequence, broadcasts by the highest the session has (the replay's count as written).
    private mutating func releaseHeld(session number: UInt16, replayedUser: UInt32) -> [ByteBuffer] {
        let held = self.held
        self.held = []
        var frames: [ByteBuffer] = []
        frames.reserveCapacity(held.count)
        for push in held {
            switch push.kind {
            case .user where push.seq != 0 && push.seq <= replayedUser:
                continue
            case .user where push.seq != 0:
                self.sessions.noteSentUser(push.seq, of: number)
            case .broadcast:
                let written = self.sessions.writtenBroadcastSequence(of: number) ?? 0
                guard push.seq > written else { continue }
                self.sessions.noteWrittenBroadcast(push.seq, of: number)
            case .user, .topic:
                break
            }
            frames.append(push.frame)
        }
        return frames
    }

    // MARK: Live messages

    /// A live message for session `number`, written on its own (a user message).
    mutating func livePush(_ push: HeldPush, session number: UInt16) -> PushAction {
        if self.holdsPushes(for: number) {
            return self.hold(push)
        }
        // A session that ended (or a connection that is closing) may still be in the
        // shard's indexes for the rest of a pass.
        guard self.acceptsPushes(for: number) else { return .drop }
        if push.kind == .broadcast {
            guard let written = self.sessions.writtenBroadcastSequence(of: number), push.seq > written else {
                return .drop
            }
            self.sessions.noteWrittenBroadcast(push.seq, of: number)
        } else if push.kind == .user, push.seq != 0 {
            self.sessions.noteSentUser(push.seq, of: number)
        }
        return .write
    }

    /// Fan-out messages for session `number`. Broadcasts at or below the highest the session
    /// already has (its replay carried them, or they reached the shard out of order) are left
    /// out, so that each session sees broadcasts once and in sequence order.
    mutating func liveBatch(_ batch: PushBatch, session number: UInt16) -> PushAction {
        if self.holdsPushes(for: number) {
            for push in batch.frames {
                if case .closeSlowConsumer = self.hold(push) { return .closeSlowConsumer }
            }
            return .held
        }
        // As for a single message: the session may have ended during the pass.
        guard self.acceptsPushes(for: number), let written = self.sessions.writtenBroadcastSequence(of: number)
        else { return .drop }
        if batch.highestBroadcast > written {
            self.sessions.noteWrittenBroadcast(batch.highestBroadcast, of: number)
        }
        if batch.highestBroadcast == 0 || batch.lowestBroadcast > written {
            return .write
        }
        let frames = batch.frames.filter { $0.kind != .broadcast || $0.seq > written }.map(\.frame)
        return frames.isEmpty ? .drop : .writeFrames(frames)
    }

    private mutating func hold(_ push: HeldPush) -> PushAction {
        guard self.held.count < self.configuration.maxHeldPushes else { return .closeSlowConsumer }
        self.held.append(push)
        return .held
    }

    // MARK: Time

    /// The connection was admitted at tick `now`: the auth deadline is armed.
    mutating func connectionStarted(now: UInt64) -> TimerAction {
        self.lastInputTick = now
        self.authDeadlineTick = now + self.configuration.authTimeoutTicks
        return .armDeadline(.auth, at: self.authDeadlineTick)
    }

    /// Input from the client arrived at tick `now`. The idle deadline moves with it lazily:
    /// the wheel entry armed earlier fires, and ``deadlineReached(now:)`` arms the new one.
    mutating func inputReceived(now: UInt64) {
        self.lastInputTick = now
    }

    /// A deadline armed earlier was reached at tick `now`: act on the one the state has, or
    /// arm it again if it is later.
    ///
    /// Before the first AUTH_OK the connection ends with `auth_timeout`, unless an AUTH is
    /// being verified: the client sent it in time, and a slow store lookup is the server's
    /// delay, not the client's, so the check comes again one timeout later. An authenticated
    /// connection ends without a frame when it sent nothing for the idle timeout; a closing
    /// one when its last frame did not get out within the grace period.
    mutating func deadlineReached(now: UInt64) -> TimerAction {
        switch self.state {
        case .closing, .closed:
            return .close(.closeGrace)
        case .awaitingFirstAuth:
            guard now >= self.authDeadlineTick else { return .armDeadline(.auth, at: self.authDeadlineTick) }
            if self.pendingAuth != nil {
                self.authDeadlineTick = now + self.configuration.authTimeoutTicks
                return .armDeadline(.auth, at: self.authDeadlineTick)
            }
            self.startClosing()
            return .sendErrorAndClose(ProtocolError(.authTimeout, "no successful AUTH within the auth timeout"))
        case .active:
            let idleDeadline = self.lastInputTick + self.configuration.idleTimeoutTicks
            guard now >= idleDeadline else { return .armDeadline(.idle, at: idleDeadline) }
            return .close(.idle)
        }
    }

    /// The frame that ends the connection was written at tick `now`: the close waits for it
    /// for the grace period at most.
    func lastFrameWritten(now: UInt64) -> TimerAction {
        .armDeadline(.closeGrace, at: now + self.configuration.closeGraceTicks)
    }

    // MARK: Server events

    /// The server ends one session (kicked, or replaced by a session on another connection or
    /// node).
    mutating func endSession(_ number: UInt16, reason: GoAwayReason) -> SessionEndAction {
        if case .pending(var pending) = self.authentication, let opening = pending.opening, opening.number == number {
            pending.opening = nil
            pending.endedWhileOpening = (opening, reason)
            self.authentication = .pending(pending)
            self.held = []
            return .openingEnded(opening)
        }
        // A kick or a replace can race with the session's own end, or with the connection's.
        guard self.state == .active, let session = self.sessions.removeValue(forKey: number) else { return .none }
        if self.isReplaying(number) {
            // The rest of the replay, and what was held, are not for anyone now.
            self.authentication = .none
            self.held = []
        }
        let close = self.sessions.isEmpty
        if close { self.startClosing() }
        return .sessionEnded(
            session,
            GoAway(session: number, reason: reason, reconnect: false),
            closeConnection: close
        )
    }

    /// The node drains: GOAWAY session 0 and close.
    mutating func drain(retryAfterMs: Int) -> DrainAction {
        switch self.state {
        case .closing, .closed:
            // The frame that ends the connection went out already.
            return .none
        case .awaitingFirstAuth, .active:
            var ended = self.sessions.values
            if let opening = self.opening { ended.append(opening) }
            self.dropOpening()
            if case .replaying = self.authentication { self.authentication = .none }
            self.held = []
            self.sessions.removeAll()
            self.startClosing()
            return .goAway(
                GoAway(session: 0, reason: .draining, reconnect: true, retryAfterMs: retryAfterMs),
                endedSessions: ended
            )
        }
    }

    /// The channel closed: returns the sessions that were still open, to unindex.
    mutating func connectionClosed() -> [Session] {
        var remaining = self.sessions.values
        if let opening = self.opening { remaining.append(opening) }
        self.authentication = .none
        self.sessions.removeAll()
        self.queue.removeAll()
        self.held = []
        self.state = .closed
        return remaining
    }

    // MARK: Private

    /// An event that cannot happen in the current state: a bug of the handler. Stops a debug
    /// build; a release build closes the connection.
    private mutating func unexpected(_ event: String) {
        assertionFailure("\(event) while the connection was \(self.stateDescription).")
        self.startClosing()
    }

    /// The state in words, for ``unexpected(_:)``.
    private var stateDescription: String {
        let phase: String
        switch self.authentication {
        case .none: phase = "no AUTH under way"
        case .pending(let pending): phase = "AUTH \(pending.seq) pending"
        case .replaying(let replay): phase = "the replay of session \(replay.session) under way"
        }
        switch self.state {
        case .awaitingFirstAuth: return "awaiting its first AUTH_OK with \(phase)"
        case .active: return "active with \(phase)"
        case .closing: return "closing with \(phase)"
        case .closed: return "closed"
        }
    }

    /// Forgets the opening session (the pending AUTH stays, so its answer is recognised).
    private mutating func dropOpening() {
        guard case .pending(var pending) = self.authentication, pending.opening != nil else { return }
        pending.opening = nil
        self.authentication = .pending(pending)
    }

    private func authOK(for session: Session, plan: ReplayPlan) -> AuthOK {
        AuthOK(
            session: session.number,
            app: session.app,
            user: session.user,
            device: session.device,
            heartbeat: self.configuration.heartbeatSeconds,
            node: self.configuration.nodeID,
            epoch: plan.epoch,
            recovered: plan.recovered
        )
    }

    private mutating func startClosing() {
        self.state = .closing
        self.queue.removeAll()
    }

    private mutating func allocateSessionNumber() -> UInt16 {
        // At most `maxSessions` numbers are taken, so this finds a free one quickly.
        while true {
            let candidate = self.nextSessionNumber
            self.nextSessionNumber = candidate == UInt16.max ? 1 : candidate + 1
            if self.sessions[candidate] == nil, self.opening?.number != candidate,
                self.endedWhileOpening?.session.number != candidate
            {
                return candidate
            }
        }
    }

    private mutating func process(_ message: ClientMessage) -> Action {
        switch message {
        case .ping(let seq):
            return .sendPong(seq: seq)
        case .auth(let seq, let request):
            guard self.sessions.count < self.configuration.maxSessions else {
                return .sendError(
                    seq: seq,
                    ProtocolError(
                        .tooManySessions,
                        "this connection already has \(self.configuration.maxSessions) sessions"
                    ),
                    closeConnection: false
                )
            }
            // Session numbers taken so far: one per AUTH whose token verified.
            let maxAuths = self.configuration.maxAuthAttempts
            guard Int(self.nextSessionNumber) - 1 < maxAuths else {
                return .sendError(
                    seq: seq,
                    ProtocolError(.rateLimited, "this connection made its \(maxAuths) AUTHs; open a new connection"),
                    closeConnection: false
                )
            }
            self.authentication = .pending(PendingAuth(seq: seq, resumedInbox: request.resume?.inbox ?? 0))
            return .authenticate(seq: seq, request)
        case .ack, .upstream, .subscribe, .unsubscribe:
            break
        }
        guard self.state == .active else {
            self.startClosing()
            return .sendError(
                seq: message.seq,
                ProtocolError(.authRequired, "send AUTH first; only AUTH and PING are allowed before AUTH_OK"),
                closeConnection: true
            )
        }
        switch message {
        case .ping, .auth:
            assertionFailure("A PING or AUTH reached the session checks, past its own answer.")
            return .none
        case .ack(let seq, let ack):
            guard var session = self.sessions[ack.session] else {
                return Self.unknownSession(seq: seq, ack.session)
            }
            // A broadcast ACK is no cursor, and a lower one says nothing new. One above what the
            // session was sent is clamped here, at once, rather than trusted until the store.
            let acknowledged = min(seq, session.sentUserSequence)
            guard ack.kind == .user, acknowledged > session.acknowledgedUserSequence else { return .none }
            session.acknowledgedUserSequence = acknowledged
            self.sessions[ack.session] = session
            return .acknowledge(
                InboxAcknowledgement(app: session.app, user: session.user, device: session.device, seq: acknowledged)
            )
        case .upstream(let seq, let upstream):
            guard self.sessions[upstream.session] != nil else {
                return Self.unknownSession(seq: seq, upstream.session)
            }
            return .sendError(
                seq: seq,
                ProtocolError(.upstreamUnavailable, "no upstream is configured on this node; retry later"),
                closeConnection: false
            )
        case .subscribe(let seq, let request):
            if let error = Self.validateTopicNames(request.topics) {
                self.startClosing()
                return .sendError(seq: seq, error, closeConnection: true)
            }
            guard var session = self.sessions[request.session] else {
                return Self.unknownSession(seq: seq, request.session)
            }
            let limit = self.configuration.maxSubscriptionsPerSession
            guard case .within(let added) = Self.newTopics(request.topics, of: session, limit: limit).result else {
                return .sendError(
                    seq: seq,
                    ProtocolError(.forbiddenTopic, "a session may hold at most \(limit) subscriptions"),
                    closeConnection: false
                )
            }
            if let forbidden = added.first(where: { !session.topics.allows($0.string) }) {
                return .sendError(
                    seq: seq,
                    ProtocolError(.forbiddenTopic, "the token does not allow topic \"\(forbidden)\""),
                    closeConnection: false
                )
            }
            session.subscriptions.formUnion(added)
            self.sessions[request.session] = session
            return .subscribed(seq: seq, session: request.session, app: session.app, added: added)
        case .unsubscribe(let seq, let request):
            if let error = Self.validateTopicNames(request.topics) {
                self.startClosing()
                return .sendError(seq: seq, error, closeConnection: true)
            }
            guard var session = self.sessions[request.session] else {
                return Self.unknownSession(seq: seq, request.session)
            }
            var removed: [ByteString] = []
            for topic in request.topics where session.subscriptions.remove(ByteString(topic)) != nil {
                removed.append(ByteString(topic))
            }
            self.sessions[request.session] = session
            return .unsubscribed(seq: seq, session: request.session, app: session.app, removed: removed)
        }
    }

    private static func unknownSession(seq: UInt32, _ number: UInt16) -> Action {
        .sendError(
            seq: seq,
            ProtocolError(.unknownSession, "session \(number) is not open on this connection"),
            closeConnection: false
        )
    }

    private static func validateTopicNames(_ topics: [String]) -> ProtocolError? {
        guard let invalid = topics.first(where: { !Topic.isValidName($0) }) else { return nil }
        let shown = invalid.unicodeScalars.prefix(64).map(Character.init)
        return ProtocolError(.badFrame, "\"\(String(shown))\" is not a valid topic name (1 to 255 bytes, no \"*\")")
    }
}
