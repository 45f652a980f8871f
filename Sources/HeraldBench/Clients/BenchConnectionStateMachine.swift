import HeraldWire

/// The protocol life of one bench connection, with no I/O: connecting → (upgrading) →
/// authenticating → (subscribing) → ready → closing → closed.
///
/// Each event returns a ``Transition`` that its ``BenchConnection`` carries out, and adds to the
/// loop's ``BenchCounters``. A connection settles exactly once per attempt: ready, or one
/// failure; the loop counts settlements for its connect phase and decides on retries.
struct BenchConnectionStateMachine: Sendable {
    enum State: Hashable, Sendable {
        case idle
        case connecting
        /// WebSocket only: the upgrade request is out, the `101` not yet in.
        case upgrading
        case authenticating
        case subscribing(session: UInt16)
        case ready(session: UInt16)
        /// This side or the server has decided to end the connection; the close is on its way.
        case closing
        case closed
    }

    /// How an attempt ended up.
    enum Settlement: Hashable, Sendable {
        case ready
        case refusedBusy
        case authFailed(String)
        case subscribeFailed(String)
        case connectFailed
        case timedOut

        /// Whether trying again later may work: the server was full or unreachable, not the
        /// credentials wrong.
        var isRetryable: Bool {
            switch self {
            case .refusedBusy, .connectFailed, .timedOut: true
            case .ready, .authFailed, .subscribeFailed: false
            }
        }
    }

    /// A frame (or the WebSocket upgrade request) to send.
    enum Outbound: Hashable, Sendable {
        case upgrade
        case auth(seq: UInt32)
        case subscribe(session: UInt16, seq: UInt32)
        case ping(seq: UInt32)
        case ack(session: UInt16, seq: UInt32)
    }

    /// What the connection must do after an event.
    struct Transition: Hashable, Sendable {
        var send: Outbound?
        var settle: Settlement?
        /// The connection has pushes to acknowledge and is not yet queued for the loop's flush.
        var scheduleAck = false
        /// Close the channel (this side ends the connection).
        var close = false

        static let none = Transition()
    }

    struct Configuration: Hashable, Sendable {
        var transport: BenchTransport
        var topics: [String]
        var acknowledge: Bool
        /// The plan's PING interval; 0 leaves it to the server's.
        var heartbeatNanos: UInt64
        /// From the start of an attempt until the connection must be ready.
        var setupTimeoutNanos: UInt64
        /// From the start of an attempt until the TCP connection must be up (capped by the
        /// setup timeout); only for connects the connection learns of after the socket is in use
        /// (see ``channelActive(now:connected:counters:)``).
        var connectTimeoutNanos: UInt64 = .max
        /// How long a closing connection may take to close before it is closed again.
        var closeGraceNanos: UInt64 = 5_000_000_000
    }

    static let authSeq: UInt32 = 1
    static let subscribeSeq: UInt32 = 2

    let configuration: Configuration
    private(set) var state: State = .idle
    private(set) var settled = false
    /// Whether this side closed the connection (so the close is not the server's doing).
    private(set) var closedByUs = false
    /// The PING interval in force, once authenticated; 0 sends none.
    private(set) var heartbeatNanos: UInt64 = 0
    private var wasReady = false
    private var deadline: UInt64 = 0
    private var startedAt: UInt64 = 0
    /// The channel is active but its TCP connect is still in progress.
    private(set) var awaitingConnect = false
    private var lastSent: UInt64 = 0
    private var nextPingSeq: UInt32 = 1
    private var pendingAck: (session: UInt16, seq: UInt32)?
    private var ackQueued = false

    init(configuration: Configuration) {
        self.configuration = configuration
    }

    /// The session number, once authenticated.
    var session: UInt16? {
        switch self.state {
        case .subscribing(let session), .ready(let session): session
        case .idle, .connecting, .upgrading, .authenticating, .closing, .closed: nil
        }
    }

    var isReady: Bool {
        if case .ready = self.state { return true }
        return false
    }

    // MARK: Connection events

    /// A connect attempt begins.
    mutating func start(now: UInt64) {
        self.state = .connecting
        self.startedAt = now
        self.deadline = now &+ self.configuration.setupTimeoutNanos
    }

    /// The socket is ready for use: the TCP connection is up, or, when `connected` is false, its
    /// connect may still be in progress and what is sent now waits in the connection until it
    /// is up. The connection reports ``connectCompleted(counters:)`` when its first request has
    /// gone out whole (a socket takes bytes only once connected) or the server's first bytes
    /// arrive; a connection that closes before either counts as a failed connect, not as one
    /// the server closed. Either way the first request goes out now.
    mutating func channelActive(now: UInt64, connected: Bool = true, counters: inout BenchCounters) -> Transition {
        guard case .connecting = self.state else { return .none }
        if !connected {
            self.awaitingConnect = true
            let connectTimeout = min(self.configuration.connectTimeoutNanos, self.configuration.setupTimeoutNanos)
            self.deadline = self.startedAt &+ connectTimeout
        }
        switch self.configuration.transport {
        case .tcp:
            if connected { counters.connected += 1 }
            self.state = .authenticating
            return Transition(send: .auth(seq: Self.authSeq))
        case .webSocket:
            self.state = .upgrading
            return Transition(send: .upgrade)
        }
    }

    /// The connect in progress at ``channelActive(now:connected:counters:)`` completed: the
    /// server's first bytes arrived.
    mutating func connectCompleted(counters: inout BenchCounters) {
        guard self.awaitingConnect else { return }
        self.awaitingConnect = false
        switch self.state {
        case .upgrading:
            // A WebSocket connection counts as connected once upgraded.
            self.deadline = self.startedAt &+ self.configuration.setupTimeoutNanos
        case .authenticating, .subscribing, .ready:
            self.deadline = self.startedAt &+ self.configuration.setupTimeoutNanos
            counters.connected += 1
        case .idle, .connecting, .closing, .closed:
            break
        }
    }

    /// The server answered the upgrade with `101`.
    mutating func upgraded(now: UInt64, counters: inout BenchCounters) -> Transition {
        guard case .upgrading = self.state else { return .none }
        counters.connected += 1
        self.state = .authenticating
        return Transition(send: .auth(seq: Self.authSeq))
    }

    /// The server answered the upgrade with something else.
    mutating func upgradeRefused(counters: inout BenchCounters) -> Transition {
        guard case .upgrading = self.state else { return .none }
        counters.connectFailures += 1
        return self.closing(settle: .connectFailed)
    }

    /// The connect attempt failed before the channel became active.
    mutating func connectFailed(timedOut: Bool, counters: inout BenchCounters) -> Settlement? {
        guard !self.settled else { return nil }
        self.settled = true
        self.state = .closed
        if timedOut {
            counters.timeouts += 1
            return .timedOut
        }
        counters.connectFailures += 1
        return .connectFailed
    }

    /// A frame went out: PINGs are due a heartbeat after the last thing sent.
    mutating func sent(now: UInt64) {
        self.lastSent = now
    }

    // MARK: Frames from the server

    /// A PUSH arrived (decoded in place by ``BenchFrameScanner``). Returns whether the
    /// connection must be queued for the loop's ACK flush.
    mutating func pushReceived(_ push: BenchFrameScanner.Push, counters: inout BenchCounters) -> Bool {
        counters.countPush(push.kind)
        guard self.configuration.acknowledge, push.ackRequired, push.kind == .user else { return false }
        if let pending = self.pendingAck, pending.session == push.session {
            // Cumulative: the highest sequence acknowledges everything below it.
            if push.seq > pending.seq { self.pendingAck = (push.session, push.seq) }
        } else {
            self.pendingAck = (push.session, push.seq)
        }
        guard !self.ackQueued else { return false }
        self.ackQueued = true
        return true
    }

    /// The ACK to send at the loop's flush, if any.
    mutating func takeAck(counters: inout BenchCounters) -> Outbound? {
        self.ackQueued = false
        guard let pending = self.pendingAck else { return nil }
        self.pendingAck = nil
        switch self.state {
        case .ready, .subscribing:
            counters.acksSent += 1
            return .ack(session: pending.session, seq: pending.seq)
        case .idle, .connecting, .upgrading, .authenticating, .closing, .closed:
            return nil
        }
    }

    /// Any frame but a PUSH, decoded.
    mutating func received(_ message: ServerMessage, now: UInt64, counters: inout BenchCounters) -> Transition {
        switch message {
        case .push(let seq, let flags, let body):
            let push = BenchFrameScanner.Push(
                seq: seq,
                ackRequired: flags.contains(.ackRequired),
                session: body.session,
                kind: body.kind,
                sentAt: BenchPayload.sentAt(body.payload)
            )
            var transition = Transition.none
            transition.scheduleAck = self.pushReceived(push, counters: &counters)
            return transition

        case .authOK(let seq, let ok):
            return self.authenticated(seq: seq, session: ok.session, heartbeat: ok.heartbeat, counters: &counters)

        case .ok(let seq):
            guard case .subscribing(let session) = self.state, seq == Self.subscribeSeq else { return .none }
            return self.becomeReady(session: session, counters: &counters)

        case .error(_, let body):
            return self.errorReceived(body, counters: &counters)

        case .goaway(let goAway):
            counters.goAways += 1
            let ours = goAway.session == 0 || goAway.session == self.session
            guard ours else { return .none }
            // The server closes after a GOAWAY for the connection or its only session.
            var transition = Transition.none
            if !self.settled {
                self.settled = true
                counters.connectFailures += 1
                transition.settle = .connectFailed
            }
            self.enterClosing(now: now)
            return transition

        case .pong:
            counters.pongsReceived += 1
            return .none

        case .upstreamOK:
            return .none
        }
    }

    /// AUTH_OK arrived (read by ``AuthOKScanner``, or decoded).
    mutating func authenticated(
        seq: UInt32,
        session: UInt16,
        heartbeat: Int,
        counters: inout BenchCounters
    ) -> Transition {
        guard case .authenticating = self.state, seq == Self.authSeq else { return .none }
        counters.authenticated += 1
        self.heartbeatNanos = Self.heartbeat(plan: self.configuration.heartbeatNanos, server: heartbeat)
        if self.configuration.topics.isEmpty {
            return self.becomeReady(session: session, counters: &counters)
        }
        self.state = .subscribing(session: session)
        return Transition(send: .subscribe(session: session, seq: Self.subscribeSeq))
    }

    /// The server broke the protocol: close.
    mutating func protocolViolation(counters: inout BenchCounters) -> Transition {
        counters.protocolErrors += 1
        if !self.settled { counters.connectFailures += 1 }
        return self.closing(settle: .connectFailed)
    }

    // MARK: Timer and closing

    /// The loop's sweep: a PING when one is due, a timeout when setup takes too long.
    mutating func tick(now: UInt64, counters: inout BenchCounters) -> Transition {
        switch self.state {
        case .ready:
            guard self.heartbeatNanos > 0, now &- self.lastSent >= self.heartbeatNanos else { return .none }
            counters.pingsSent += 1
            let seq = self.nextPingSeq
            self.nextPingSeq &+= 1
            return Transition(send: .ping(seq: seq))
        case .connecting, .upgrading, .authenticating, .subscribing:
            guard now >= self.deadline else { return .none }
            counters.timeouts += 1
            return self.closing(settle: .timedOut)
        case .closing:
            guard now >= self.deadline else { return .none }
            self.closedByUs = true
            return Transition(close: true)
        case .idle, .closed:
            return .none
        }
    }

    /// This side ends the connection (``BenchClientPool/dropAll()``). Returns whether the
    /// channel must be closed.
    mutating func closeRequested() -> Bool {
        switch self.state {
        case .closed: return false
        default:
            self.closedByUs = true
            self.settled = true
            self.state = .closing
            return true
        }
    }

    /// The channel closed. Returns the settlement if the attempt had not settled yet.
    mutating func channelClosed(counters: inout BenchCounters) -> Settlement? {
        guard self.state != .closed else { return nil }
        let previous = self.state
        self.state = .closed
        if self.wasReady {
            counters.open -= 1
            self.wasReady = false
        }
        let neverConnected = previous == .connecting || self.awaitingConnect
        self.awaitingConnect = false
        if !self.closedByUs && !neverConnected {
            counters.closedByServer += 1
        }
        guard !self.settled else { return nil }
        self.settled = true
        counters.connectFailures += 1
        return .connectFailed
    }

    // MARK: Private

    private mutating func becomeReady(session: UInt16, counters: inout BenchCounters) -> Transition {
        self.state = .ready(session: session)
        self.settled = true
        self.wasReady = true
        counters.open += 1
        return Transition(settle: .ready)
    }

    private mutating func errorReceived(_ body: ErrorBody, counters: inout BenchCounters) -> Transition {
        if body.errorCode == .serverBusy {
            if self.settled {
                counters.errorsReceived += 1
                return self.closing(settle: nil)
            }
            counters.refusedBusy += 1
            return self.closing(settle: .refusedBusy)
        }
        switch self.state {
        case .authenticating:
            counters.authFailures += 1
            return self.closing(settle: .authFailed(body.code))
        case .subscribing:
            counters.subscribeFailures += 1
            return self.closing(settle: .subscribeFailed(body.code))
        case .upgrading, .connecting:
            counters.connectFailures += 1
            return self.closing(settle: .connectFailed)
        case .ready:
            counters.errorsReceived += 1
            if body.errorCode?.closesConnection(hasSessions: true) ?? false {
                return self.closing(settle: nil)
            }
            return .none
        case .idle, .closing, .closed:
            counters.errorsReceived += 1
            return .none
        }
    }

    /// Ends the connection from this side, settling the attempt if `settle` is given and it
    /// has not settled yet.
    private mutating func closing(settle: Settlement?) -> Transition {
        var transition = Transition(close: true)
        if let settle, !self.settled {
            self.settled = true
            transition.settle = settle
        }
        self.closedByUs = true
        self.state = .closing
        return transition
    }

    private mutating func enterClosing(now: UInt64) {
        self.state = .closing
        self.deadline = now &+ self.configuration.closeGraceNanos
    }

    /// The PING interval: the shorter of the plan's and the server's, either may be 0 (none).
    static func heartbeat(plan: UInt64, server seconds: Int) -> UInt64 {
        let server = seconds > 0 ? UInt64(seconds) * 1_000_000_000 : 0
        switch (plan, server) {
        case (0, let server): return server
        case (let plan, 0): return plan
        default: return min(plan, server)
        }
    }
}
