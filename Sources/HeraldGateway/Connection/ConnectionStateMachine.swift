import DequeModule
import HeraldCore
import HeraldWire

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The protocol rules of one client connection (docs/protocol.md, "Authentication and
/// sessions"), with no channel inside: events in, actions out.
///
/// - Session numbers count up from 1 and are not reused until the `u16` counter wraps, so a
///   late message for an ended session never reaches a newer one (0 is never used: it means
///   "the connection" in GOAWAY).
/// - AUTH is three steps: ``received(_:)`` answers `.authenticate`; the handler verifies the
///   token and calls ``authVerified(seq:token:since:)``, which opens the session as *opening*:
///   the handler indexes it for fan-out at once and holds its live messages while the replay
///   plan loads, so that nothing stored meanwhile is missed; then ``replayLoaded(seq:plan:)``
///   (or ``authFailed(seq:_:)``). Messages that arrive meanwhile are queued in order
///   (bounded); the handler pulls them with ``nextQueuedMessage()`` once the AUTH completed.
/// - The session limit is checked when the AUTH arrives, before the token is verified: an
///   AUTH that would replace a session of the same device on this connection also counts.
/// - The per-session subscription limit answers `forbidden_topic`: retrying later cannot help,
///   which `rate_limited` would suggest.
struct ConnectionStateMachine {
    /// Limits and values the state machine needs.
    struct Configuration: Sendable {
        var maxSessions: Int = 8
        var maxSubscriptionsPerSession: Int = 256
        /// Messages kept while an AUTH is pending; more are answered `rate_limited`.
        var maxQueuedMessages: Int = 64
        var heartbeatSeconds: Int = 30
        var nodeID: String = "local"
    }

    /// The configuration, shared: every connection's machine holds it, and inline it is
    /// five words.
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
        /// The app's id as the app registry holds it, so its storage is shared.
        let app: String
        let user: String
        let device: String
        let since: Date
        /// What the token's `topics` claim allows.
        let topics: TopicPermissions
        var subscriptions: Set<String> = []

        init(number: UInt16, token: VerifiedToken, since: Date) {
            self.number = number
            self.app = token.app.id
            self.user = token.user
            self.device = token.device
            self.since = since
            self.topics = token.topics
        }

        /// What the session directory knows of it.
        func info(node: String) -> SessionInfo {
            SessionInfo(app: self.app, user: self.user, device: self.device, node: node, since: self.since)
        }

        func hasSameIdentity(as other: Session) -> Bool {
            self.app == other.app && self.user == other.user && self.device == other.device
        }
    }

    /// The AUTH being verified and the session it opens. Boxed (`indirect`): it lives for one
    /// AUTH, and inline it would cost every connection two sessions' worth of bytes.
    private struct PendingAuth: Sendable {
        var seq: UInt32
        /// The session whose token verified and whose replay is loading.
        var opening: Session?
        /// The opening session, if the server ended it before its replay loaded, and why.
        var endedWhileOpening: (session: Session, reason: GoAwayReason)?
    }

    private enum Authentication: Sendable {
        case none
        indirect case pending(PendingAuth)
        /// AUTH_OK went out and the session is open, but its replay is still being written
        /// page by page: its live messages are held, and a further AUTH waits (with whatever
        /// was sent after it), so that only one replay is under way per connection.
        case replaying(session: UInt16)
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

    /// What the handler does after a received message.
    enum Action: Sendable {
        case none
        /// Verify the token, load the replay plan, then report back.
        case authenticate(seq: UInt32, AuthRequest)
        case sendPong(seq: UInt32)
        /// A device acknowledged its QoS 1 messages up to `seq`: hand it to the cursor writer.
        case acknowledge(InboxAcknowledgement)
        /// Write ERROR; when `closeConnection`, flush it and close.
        case sendError(seq: UInt32, ProtocolError, closeConnection: Bool)
        /// Index the newly added topics of the session, then write OK.
        case subscribed(seq: UInt32, session: UInt16, app: String, added: [String])
        /// Remove the topics from the index, then write OK.
        case unsubscribed(seq: UInt32, session: UInt16, app: String, removed: [String])
    }

    /// What the handler does when an AUTH's token verified.
    enum OpeningAction: Sendable {
        case none
        /// Index the session for fan-out, hold its live messages, and load its replay plan.
        case loadReplay(Session)
    }

    /// What the handler does when an AUTH completed.
    enum AuthCompletionAction: Sendable {
        case none
        /// Write AUTH_OK and (if any) GOAWAY `replaced` for the session of the same device that
        /// this one replaces on this connection (and unindex that one), then the replay, then
        /// the held live messages. A replay that is not empty is written in pages as the socket
        /// drains; call ``replayWritten(session:)`` after its last page.
        case sessionOpened(seq: UInt32, Session, AuthOK, replay: [ReplayPlan.Push], replaced: Session?)
        /// The session was ended (kicked, replaced elsewhere) while its replay loaded: write
        /// AUTH_OK and the GOAWAY at once, closing after it when `closeConnection`.
        case sessionOpenedAndEnded(seq: UInt32, AuthOK, GoAway, closeConnection: Bool)
        /// Write ERROR; unindex `abandoned`, the opening session, if any.
        case sendError(seq: UInt32, ProtocolError, closeConnection: Bool, abandoned: Session?)
    }

    /// What the handler does when the server ends a session (kick, replaced elsewhere).
    enum SessionEndAction: Sendable {
        case none
        /// Write the GOAWAY, unindex the session, and close after it when `closeConnection`.
        case sessionEnded(Session, GoAway, closeConnection: Bool)
        /// The session was still opening: unindex it and drop its held messages; the GOAWAY
        /// follows its AUTH_OK when the replay is loaded.
        case openingEnded(Session)
    }

    /// What the handler does when the node drains.
    enum DrainAction: Sendable {
        case none
        /// Write GOAWAY session 0, unindex the sessions, close.
        case goAway(GoAway, endedSessions: [Session])
    }

    // In this order, the one-byte state packs after the two-byte counter.
    private let sharedConfiguration: SharedConfiguration
    private(set) var sessions = SessionTable()
    private var authentication: Authentication = .none
    private var queue: Deque<ClientMessage> = []
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
        guard case .replaying(let session) = self.authentication else { return false }
        return session == number
    }

    /// Whether live messages for session `number` are held rather than written: it is
    /// opening (its replay is loading) or its replay is being written.
    func holdsPushes(for number: UInt16) -> Bool {
        switch self.authentication {
        case .none: false
        case .pending(let pending): pending.opening?.number == number
        case .replaying(let session): session == number
        }
    }

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

    // MARK: Events

    /// A message decoded from a frame.
    mutating func received(_ message: ClientMessage) -> Action {
        switch self.state {
        case .closing, .closed:
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
            return .none
        case .awaitingFirstAuth, .active:
            self.startClosing()
            return .sendError(seq: seq, error, closeConnection: true)
        }
    }

    /// The token verified: the session opens, indexed but holding its live messages until
    /// ``replayLoaded(seq:plan:)``.
    mutating func authVerified(seq: UInt32, token: VerifiedToken, since: Date = Date()) -> OpeningAction {
        guard case .pending(var pending) = self.authentication, pending.seq == seq, pending.opening == nil else {
            return .none
        }
        switch self.state {
        case .closing, .closed:
            return .none
        case .awaitingFirstAuth, .active:
            break
        }
        let session = Session(number: self.allocateSessionNumber(), token: token, since: since)
        pending.opening = session
        pending.endedWhileOpening = nil
        self.authentication = .pending(pending)
        return .loadReplay(session)
    }

    /// The opening session's replay plan is ready: it becomes open.
    mutating func replayLoaded(seq: UInt32, plan: ReplayPlan) -> AuthCompletionAction {
        guard let (opening, ended) = self.finishPendingAuth(seq) else { return .none }
        if let ended {
            // Ended while loading: the client still learns the session's number from AUTH_OK.
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
        guard var session = opening else { return .none }
        for push in plan.pushes where push.kind == .broadcast {
            session.writtenBroadcastSequence = max(session.writtenBroadcastSequence, push.seq)
        }
        var replaced: Session?
        if let old = self.sessions.first(where: { $0.hasSameIdentity(as: session) }) {
            replaced = self.sessions.removeValue(forKey: old.number)
        }
        self.sessions[session.number] = session
        self.state = .active
        if !plan.pushes.isEmpty {
            self.authentication = .replaying(session: session.number)
        }
        return .sessionOpened(
            seq: seq,
            session,
            self.authOK(for: session, plan: plan),
            replay: plan.pushes,
            replaced: replaced
        )
    }

    /// The last page of session `number`'s replay was written: its held messages go out, and
    /// queued messages (a further AUTH) are taken again.
    mutating func replayWritten(session number: UInt16) {
        guard self.isReplaying(number) else { return }
        self.authentication = .none
    }

    /// Both AUTH steps at once, for a plan known up front.
    mutating func authSucceeded(seq: UInt32, token: VerifiedToken, plan: ReplayPlan, since: Date = Date())
        -> AuthCompletionAction
    {
        guard case .loadReplay = self.authVerified(seq: seq, token: token, since: since) else { return .none }
        return self.replayLoaded(seq: seq, plan: plan)
    }

    /// The token was refused (or the replay could not be loaded).
    mutating func authFailed(seq: UInt32, _ error: ProtocolError) -> AuthCompletionAction {
        guard let (abandoned, _) = self.finishPendingAuth(seq) else { return .none }
        let close = error.code.closesConnection(hasSessions: self.hasSessions)
        if close { self.startClosing() }
        return .sendError(seq: seq, error, closeConnection: close, abandoned: abandoned)
    }

    /// Ends the pending AUTH `seq` and hands over its opening session; nil when `seq` is not
    /// the pending AUTH or the connection is closing (a drain or close took care of it).
    private mutating func finishPendingAuth(_ seq: UInt32)
        -> (opening: Session?, ended: (session: Session, reason: GoAwayReason)?)?
    {
        guard case .pending(let pending) = self.authentication, pending.seq == seq else { return nil }
        self.authentication = .none
        switch self.state {
        case .closing, .closed: return nil
        case .awaitingFirstAuth, .active: return (pending.opening, pending.endedWhileOpening)
        }
    }

    /// The auth timer fired: without an AUTH_OK yet, the connection ends with `auth_timeout`;
    /// unless an AUTH is being verified: the client sent it in time, and a slow store lookup
    /// is the server's delay, not the client's (the handler checks again later).
    mutating func authTimedOut() -> Action {
        guard self.state == .awaitingFirstAuth, self.pendingAuth == nil else { return .none }
        self.startClosing()
        return .sendError(
            seq: 0,
            ProtocolError(.authTimeout, "no successful AUTH within the auth timeout"),
            closeConnection: true
        )
    }

    /// The server ends one session (kicked, or replaced by a session on another connection).
    mutating func endSession(_ number: UInt16, reason: GoAwayReason) -> SessionEndAction {
        if case .pending(var pending) = self.authentication, let opening = pending.opening, opening.number == number {
            pending.opening = nil
            pending.endedWhileOpening = (opening, reason)
            self.authentication = .pending(pending)
            return .openingEnded(opening)
        }
        guard self.state == .active, let session = self.sessions.removeValue(forKey: number) else { return .none }
        if self.isReplaying(number) { self.authentication = .none }
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
            return .none
        case .awaitingFirstAuth, .active:
            var ended = self.sessions.values
            if let opening = self.opening { ended.append(opening) }
            self.dropOpening()
            if case .replaying = self.authentication { self.authentication = .none }
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
        self.state = .closed
        return remaining
    }

    // MARK: Private

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
            self.authentication = .pending(PendingAuth(seq: seq))
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
            return .none  // handled above
        case .ack(let seq, let ack):
            guard var session = self.sessions[ack.session] else {
                return Self.unknownSession(seq: seq, ack.session)
            }
            guard ack.kind == .user, seq > session.acknowledgedUserSequence else { return .none }
            session.acknowledgedUserSequence = seq
            self.sessions[ack.session] = session
            return .acknowledge(
                InboxAcknowledgement(app: session.app, user: session.user, device: session.device, seq: seq)
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
            if let forbidden = request.topics.first(where: { !session.topics.allows($0) }) {
                return .sendError(
                    seq: seq,
                    ProtocolError(.forbiddenTopic, "the token does not allow topic \"\(forbidden)\""),
                    closeConnection: false
                )
            }
            var added: [String] = []
            for topic in request.topics where !session.subscriptions.contains(topic) && !added.contains(topic) {
                added.append(topic)
            }
            guard session.subscriptions.count + added.count <= self.configuration.maxSubscriptionsPerSession else {
                return .sendError(
                    seq: seq,
                    ProtocolError(
                        .forbiddenTopic,
                        "a session may hold at most \(self.configuration.maxSubscriptionsPerSession) subscriptions"
                    ),
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
            var removed: [String] = []
            for topic in request.topics where session.subscriptions.remove(topic) != nil {
                removed.append(topic)
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
