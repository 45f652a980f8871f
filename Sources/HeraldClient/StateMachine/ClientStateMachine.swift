import HeraldWire
import NIOCore

/// The protocol logic of one ``HeraldClient``, across all of its connections.
///
/// A value type driven by events (a connection starts, a frame arrives, a timer fires, the
/// connection closes, the app makes a request) that returns what to do. It performs no I/O
/// and reads no clock: `now` is passed in, and reconnect delays are returned as a
/// ``ReconnectDelay`` that ``Backoff`` turns into a duration.
struct ClientStateMachine {
    /// How long to wait before the next connection attempt.
    enum ReconnectDelay: Hashable, Sendable {
        /// Exponential backoff; `attempt` counts failures since the last AUTH_OK.
        case backoff(attempt: Int)
        /// The server's `retryAfterMs` (GOAWAY `draining`), to which jitter is added.
        case retryAfter(TimeAmount)
    }

    /// What follows the end of a connection.
    enum Outcome: Hashable, Sendable {
        case reconnect(ReconnectDelay, HeraldDisconnect.Reason)
        case stop(HeraldDisconnect.Reason)
    }

    /// A request sent on the current connection and waiting for OK, UPSTREAM_OK or ERROR.
    enum PendingRequest: Hashable, Sendable {
        case subscribe([String])
        case unsubscribe([String])
        case upstream
        /// The SUBSCRIBE the client sends by itself after AUTH_OK.
        case resubscribe([String])
    }

    /// What to do after a frame arrived.
    enum FrameAction: Hashable, Sendable {
        case none
        /// AUTH_OK: report the session, start the heartbeat, then send `frames`
        /// (the re-subscription and a catch-up ACK).
        case authenticated(HeraldSession, heartbeat: TimeAmount, send: [Frame])
        case deliver(HeraldPush)
        /// Write a frame (the ACK of a duplicate push).
        case send(Frame)
        case succeedRequest(UInt32)
        case failRequest(UInt32, HeraldClientError, closeConnection: Bool)
        case subscriptionFailed(topics: [String], ErrorBody)
        /// Report the GOAWAY and close the connection.
        case goaway(GoAway)
        /// Close the connection; the outcome is already decided.
        case closeConnection
    }

    /// What to do when a request of the app is made.
    enum RequestAction: Hashable, Sendable {
        case send(id: UInt32, Frame)
        case fail(HeraldClientError)
    }

    /// What to do when the heartbeat timer fires.
    enum HeartbeatAction: Hashable, Sendable {
        case none
        case sendPing(Frame)
        case closeConnection
    }

    /// What to do when the app closes the client.
    enum CloseAction: Hashable, Sendable {
        /// Nothing is connected: the client is finished now.
        case finished
        /// Close the current connection; its end finishes the client.
        case closeConnection
        /// Already finished or closing.
        case none
    }

    private struct Active {
        var session: HeraldSession
        var heartbeat: TimeAmount
        var lastReceived: NIODeadline
        var pingSentAt: NIODeadline?
    }

    private enum State {
        /// Between connections.
        case idle
        /// A connection attempt is under way; AUTH is not sent yet.
        case connecting
        case authenticating(authSeq: UInt32)
        case active(Active)
        /// The end of the connection is decided; waiting for it to close.
        case closing(Outcome)
        case finished
    }

    private var state: State = .idle
    /// Where the streams stand; sent in `resume`.
    private(set) var cursors: HeraldResumeCursors
    /// Whether the cursors come from a server (or the app) and are worth sending.
    private var hasCursors: Bool
    /// The highest inbox sequence the consumer received, to acknowledge.
    private var acknowledgeable: UInt32 = 0
    /// The highest inbox sequence acknowledged to the server.
    private var acknowledged: UInt32 = 0
    /// Topics subscribed, re-subscribed after each AUTH_OK, in order of subscription.
    private(set) var topics: [String]
    private var pending: [UInt32: PendingRequest] = [:]
    private var nextRequestID: UInt32 = 1
    /// Failed attempts since the last AUTH_OK.
    private var attempt = 0

    init(resume: HeraldResumeCursors?, topics: [String]) {
        self.cursors = resume ?? HeraldResumeCursors()
        self.hasCursors = resume != nil
        self.topics = []
        self.addTopics(topics)
    }

    var isFinished: Bool {
        if case .finished = self.state { return true }
        return false
    }

    /// Whether the end of the current connection is decided.
    var isClosing: Bool {
        if case .closing = self.state { return true }
        return false
    }

    /// The session of the authenticated connection, if any.
    var session: HeraldSession? {
        if case .active(let active) = self.state { return active.session }
        return nil
    }

    // MARK: Connection lifecycle

    /// A connection attempt starts. Returns `false` when the client is finished.
    mutating func startConnecting() -> Bool {
        switch self.state {
        case .idle:
            self.state = .connecting
            return true
        case .finished:
            return false
        case .connecting, .authenticating, .active, .closing:
            preconditionFailure("a connection attempt started while another is under way")
        }
    }

    /// The connection is open (TCP connected, or WebSocket upgraded): returns the AUTH frame.
    mutating func connectionEstablished(token: String) -> Frame? {
        guard case .connecting = self.state else { return nil }
        let seq = self.makeRequestID()
        self.state = .authenticating(authSeq: seq)
        let resume =
            self.hasCursors
            ? AuthRequest.Resume(epoch: self.cursors.epoch, inbox: self.cursors.inbox, broadcast: self.cursors.broadcast)
            : nil
        return ClientMessage.auth(seq: seq, AuthRequest(token: token, resume: resume)).frame
    }

    /// The connection attempt failed before it opened.
    mutating func connectFailed(_ description: String) -> Outcome? {
        switch self.state {
        case .connecting:
            return self.ended(.reconnect(self.nextBackoff(), .connectFailed(description)))
        case .closing(let outcome):
            return self.ended(outcome)
        case .idle, .authenticating, .active, .finished:
            return nil
        }
    }

    /// The connection closed. Returns `nil` if its end was already reported.
    mutating func connectionClosed() -> Outcome? {
        switch self.state {
        case .connecting:
            return self.ended(.reconnect(self.nextBackoff(), .connectFailed("connection closed while opening")))
        case .authenticating, .active:
            return self.ended(.reconnect(self.nextBackoff(), .connectionLost))
        case .closing(let outcome):
            return self.ended(outcome)
        case .idle, .finished:
            return nil
        }
    }

    /// No AUTH_OK arrived in time.
    mutating func authenticationTimedOut() -> Bool {
        guard case .authenticating = self.state else { return false }
        self.state = .closing(.reconnect(self.nextBackoff(), .authenticationTimeout))
        return true
    }

    /// The app closes the client.
    mutating func close() -> CloseAction {
        switch self.state {
        case .idle:
            self.state = .finished
            return .finished
        case .connecting, .authenticating, .active, .closing:
            self.state = .closing(.stop(.closedByClient))
            return .closeConnection
        case .finished:
            return .none
        }
    }

    // MARK: Frames

    /// A frame arrived on the current connection.
    mutating func frameReceived(_ frame: Frame, now: NIODeadline) -> FrameAction {
        let message: ServerMessage
        do {
            message = try ServerMessage(frame)
        } catch {
            return self.protocolViolation("\(frame.op) frame: \(error)")
        }
        return self.messageReceived(message, now: now)
    }

    /// A frame could not be decoded (bad header, too large).
    mutating func decodingFailed(_ error: ProtocolError) -> FrameAction {
        self.protocolViolation(error.description)
    }

    mutating func messageReceived(_ message: ServerMessage, now: NIODeadline) -> FrameAction {
        switch self.state {
        case .authenticating(let authSeq):
            return self.receivedWhileAuthenticating(message, authSeq: authSeq, now: now)
        case .active(var active):
            active.lastReceived = now
            self.state = .active(active)
            return self.receivedWhileActive(message, session: active.session.id)
        case .idle, .connecting, .closing, .finished:
            return .none
        }
    }

    private mutating func receivedWhileAuthenticating(
        _ message: ServerMessage,
        authSeq: UInt32,
        now: NIODeadline
    ) -> FrameAction {
        switch message {
        case .authOK(let seq, let body) where seq == authSeq:
            let session = HeraldSession(body)
            if self.cursors.epoch != body.epoch {
                // Sequences of another epoch mean nothing here: start counting again.
                self.cursors = HeraldResumeCursors(epoch: body.epoch)
                self.acknowledgeable = 0
                self.acknowledged = 0
            }
            self.hasCursors = true
            self.attempt = 0
            let heartbeat = TimeAmount.seconds(Int64(max(body.heartbeat, 1)))
            self.state = .active(Active(session: session, heartbeat: heartbeat, lastReceived: now, pingSentAt: nil))
            var frames: [Frame] = []
            if !self.topics.isEmpty {
                let id = self.makeRequestID()
                self.pending[id] = .resubscribe(self.topics)
                frames.append(
                    ClientMessage.subscribe(seq: id, TopicsRequest(session: session.id, topics: self.topics)).frame
                )
            }
            if self.acknowledgeable > self.acknowledged, let ack = self.ackFrame(session: session.id) {
                frames.append(ack)
            }
            return .authenticated(session, heartbeat: heartbeat, send: frames)
        case .error(_, let body):
            // An ERROR before AUTH_OK always ends a connection that has no session.
            switch body.errorCode {
            case .authFailed, .tokenExpired, .unknownApp:
                self.state = .closing(.stop(.authenticationFailed(body)))
            default:
                self.state = .closing(.reconnect(self.nextBackoff(), .serverError(body)))
            }
            return .closeConnection
        case .goaway(let goaway):
            return self.goawayReceived(goaway)
        case .pong:
            return .none
        case .authOK, .push, .upstreamOK, .ok:
            return self.protocolViolation("\(message.frame.op) before AUTH_OK")
        }
    }

    private mutating func receivedWhileActive(_ message: ServerMessage, session: UInt16) -> FrameAction {
        switch message {
        case .pong:
            return .none
        case .push(let seq, let flags, let body):
            guard body.session == session else { return .none }
            return self.pushReceived(seq: seq, flags: flags, body: body, session: session)
        case .ok(let seq), .upstreamOK(let seq):
            guard let request = self.pending.removeValue(forKey: seq) else { return .none }
            switch request {
            case .subscribe(let topics):
                self.addTopics(topics)
                return .succeedRequest(seq)
            case .unsubscribe(let topics):
                self.topics.removeAll { topics.contains($0) }
                return .succeedRequest(seq)
            case .upstream:
                return .succeedRequest(seq)
            case .resubscribe:
                return .none
            }
        case .error(let seq, let body):
            let closes = body.errorCode?.closesConnection(hasSessions: true) ?? false
            if closes {
                self.state = .closing(.reconnect(self.nextBackoff(), .serverError(body)))
            }
            guard let request = self.pending.removeValue(forKey: seq) else {
                return closes ? .closeConnection : .none
            }
            switch request {
            case .resubscribe(let topics):
                self.topics.removeAll { topics.contains($0) }
                return closes ? .closeConnection : .subscriptionFailed(topics: topics, body)
            case .subscribe, .unsubscribe, .upstream:
                return .failRequest(seq, .server(body), closeConnection: closes)
            }
        case .goaway(let goaway):
            guard goaway.session == 0 || goaway.session == session else { return .none }
            return self.goawayReceived(goaway)
        case .authOK:
            return self.protocolViolation("AUTH_OK without a pending AUTH")
        }
    }

    private mutating func pushReceived(seq: UInt32, flags: FrameFlags, body: PushBody, session: UInt16) -> FrameAction {
        let ackRequired = flags.contains(.ackRequired)
        let push = HeraldPush(
            seq: seq,
            kind: body.kind,
            topic: body.topic,
            payload: body.payload,
            ackRequired: ackRequired
        )
        switch body.kind {
        case .user where seq > 0:
            if seq <= self.cursors.inbox {
                // Already delivered (a replay overlapping what arrived): confirm again, do not deliver twice.
                guard ackRequired else { return .none }
                return .send(ClientMessage.ack(seq: seq, AckBody(session: session, kind: .user)).frame)
            }
            self.cursors.inbox = seq
        case .broadcast where seq > 0:
            if seq <= self.cursors.broadcast { return .none }
            self.cursors.broadcast = seq
        case .user, .broadcast, .topic:
            break
        }
        return .deliver(push)
    }

    private mutating func goawayReceived(_ goaway: GoAway) -> FrameAction {
        let reason = HeraldDisconnect.Reason.goaway(goaway)
        switch goaway.knownReason {
        case .replaced, .kicked:
            self.state = .closing(.stop(reason))
        case .draining:
            self.state = .closing(.reconnect(.retryAfter(.milliseconds(Int64(max(goaway.retryAfterMs, 0)))), reason))
        case .overloaded:
            self.state = .closing(.reconnect(self.nextBackoff(), reason))
        case nil:
            self.state = .closing(goaway.reconnect ? .reconnect(self.nextBackoff(), reason) : .stop(reason))
        }
        return .goaway(goaway)
    }

    private mutating func protocolViolation(_ description: String) -> FrameAction {
        switch self.state {
        case .connecting, .authenticating, .active:
            self.state = .closing(.reconnect(self.nextBackoff(), .protocolViolation(description)))
            return .closeConnection
        case .idle, .closing, .finished:
            return .none
        }
    }

    // MARK: Heartbeat

    /// The heartbeat timer fired (every AUTH_OK `heartbeat`). A PING that got no frame at all in
    /// reply by the next tick means the connection is dead.
    mutating func heartbeatTimerFired(now: NIODeadline) -> HeartbeatAction {
        guard case .active(var active) = self.state else { return .none }
        if let sentAt = active.pingSentAt, active.lastReceived < sentAt {
            self.state = .closing(.reconnect(self.nextBackoff(), .heartbeatTimeout))
            return .closeConnection
        }
        active.pingSentAt = now
        self.state = .active(active)
        return .sendPing(ClientMessage.ping(seq: self.makeRequestID()).frame)
    }

    // MARK: Requests

    /// The app subscribes to topics.
    mutating func subscribe(_ topics: [String]) -> RequestAction {
        self.request(.subscribe(topics)) { .subscribe(seq: $0, TopicsRequest(session: $1, topics: topics)) }
    }

    /// The app unsubscribes from topics.
    mutating func unsubscribe(_ topics: [String]) -> RequestAction {
        self.request(.unsubscribe(topics)) { .unsubscribe(seq: $0, TopicsRequest(session: $1, topics: topics)) }
    }

    /// The app sends bytes to its backend.
    mutating func upstream(_ payload: ByteBuffer) -> RequestAction {
        self.request(.upstream) { .upstream(seq: $0, UpstreamBody(session: $1, payload: payload)) }
    }

    /// A request got no answer in time. Returns whether it was still waiting.
    mutating func requestTimedOut(_ id: UInt32) -> Bool {
        self.pending.removeValue(forKey: id) != nil
    }

    /// The consumer received (automatic mode) or processed (manual mode) an inbox push:
    /// returns the cumulative ACK to send, if one is due.
    mutating func acknowledge(_ seq: UInt32) -> Frame? {
        guard seq > self.acknowledgeable else { return nil }
        self.acknowledgeable = seq
        guard case .active(let active) = self.state else { return nil }
        return self.ackFrame(session: active.session.id)
    }

    /// Requests waiting on the connection that just ended, to fail. Call after ``connectionClosed()``.
    mutating func takePendingRequests() -> [UInt32] {
        let ids = self.pending.keys.filter {
            if case .resubscribe = self.pending[$0] { return false }
            return true
        }
        self.pending.removeAll()
        return ids.sorted()
    }

    // MARK: Helpers

    private mutating func request(
        _ kind: PendingRequest,
        _ message: (UInt32, UInt16) -> ClientMessage
    ) -> RequestAction {
        switch self.state {
        case .active(let active):
            let id = self.makeRequestID()
            self.pending[id] = kind
            return .send(id: id, message(id, active.session.id).frame)
        case .finished:
            return .fail(.finished)
        case .idle, .connecting, .authenticating, .closing:
            return .fail(.notConnected)
        }
    }

    private mutating func ackFrame(session: UInt16) -> Frame? {
        guard self.acknowledgeable > self.acknowledged else { return nil }
        self.acknowledged = self.acknowledgeable
        return ClientMessage.ack(seq: self.acknowledged, AckBody(session: session, kind: .user)).frame
    }

    private mutating func ended(_ outcome: Outcome) -> Outcome {
        switch outcome {
        case .reconnect: self.state = .idle
        case .stop: self.state = .finished
        }
        return outcome
    }

    private mutating func nextBackoff() -> ReconnectDelay {
        defer { self.attempt += 1 }
        return .backoff(attempt: self.attempt)
    }

    private mutating func makeRequestID() -> UInt32 {
        defer { self.nextRequestID = self.nextRequestID == .max ? 1 : self.nextRequestID + 1 }
        return self.nextRequestID
    }

    private mutating func addTopics(_ topics: [String]) {
        for topic in topics where !self.topics.contains(topic) {
            self.topics.append(topic)
        }
    }
}
