import HeraldRESP
import NIOCore

/// The life of one connection to Redis as a value: the handshake, the queue of requests
/// waiting for their replies in order, the deadline, closing.
///
/// It never touches a channel. Each event returns an ``Action`` that ``RedisChannelHandler``
/// runs (write, complete a promise, arm the timer, close), so every path can be tested by
/// feeding it events. `Request` is what the handler completes: a promise there, a number in tests.
struct RedisConnectionStateMachine<Request> {
    /// What the handshake needs to know.
    struct Handshake: Hashable, Sendable {
        var username: String?
        var password: String?
        var database: Int
    }

    /// How a request's reply is recognised.
    enum ReplyKind: Hashable, Sendable {
        /// The next reply that is not a push.
        case reply
        /// Subscription commands are answered by one push per channel (`subscribe`,
        /// `unsubscribe`, ...), not by a reply: the request completes with the last of them.
        case subscription(confirmation: String, count: Int)
    }

    /// A request written to the server and waiting for its reply.
    struct Pending {
        var request: Request
        var kind: ReplyKind
        var deadline: NIODeadline
    }

    /// What the handler does with the timer that watches the oldest request's deadline.
    enum TimerAction: Hashable {
        /// Leave the timer as it is (when it fires early, ``timeoutFired(now:)`` re-arms it).
        case keep
        /// Cancel it: nothing is waiting.
        case cancel
        /// Arm it for this deadline.
        case schedule(NIODeadline)
    }

    /// What the handler must do after an event.
    enum Action {
        case none
        /// Write a handshake command.
        case sendHandshakeCommand(RESPCommand, timer: TimerAction)
        /// The connection is ready in this protocol version: succeed the connect.
        case handshakeCompleted(RESPVersion)
        /// Write the requests just queued.
        case write(timer: TimerAction)
        /// The requests were not queued: fail them with the error.
        case refuse(RedisClientError)
        /// Deliver a push, complete a request, or both; then close when told to.
        case deliver(push: RESPToken?, completed: (Request, Result<RESPToken, RedisClientError>)?, timer: TimerAction, close: Bool)
        /// Close the connection: fail the handshake (if it was under way) and these requests.
        case close(handshakeError: RedisClientError?, failing: [(Request, RedisClientError)])
    }

    private enum HandshakeStep: Hashable {
        case hello
        case auth
        case select
    }

    private struct Ready {
        var pending: CircularBuffer<Pending>
        var version: RESPVersion
        /// Set once a subscription is requested: from then on, a RESP2 server sends pub/sub
        /// messages as plain arrays that must not be taken for replies.
        var subscribed: Bool
    }

    private enum State {
        case initialized
        case handshaking(HandshakeStep, RESPVersion)
        case ready(Ready)
        /// No new requests; closes when the pending ones have their replies.
        case closing(Ready)
        case closed
    }

    private var state: State = .initialized
    private let handshake: Handshake

    init(handshake: Handshake) {
        self.handshake = handshake
    }

    // MARK: Events

    /// The channel is connected: start the handshake, which must end by `deadline`.
    mutating func channelActive(deadline: NIODeadline) -> Action {
        guard case .initialized = self.state else { return .none }
        self.state = .handshaking(.hello, .resp3)
        var arguments: [RESPCommand.Argument] = [3]
        if let password = self.handshake.password {
            arguments += ["AUTH", .string(self.handshake.username ?? "default"), .string(password)]
        }
        return .sendHandshakeCommand(RESPCommand("HELLO", arguments: arguments), timer: .schedule(deadline))
    }

    /// The caller wants to send these requests.
    mutating func sendRequests(_ requests: [Pending]) -> Action {
        switch self.state {
        case .ready(var ready):
            // Out of `state` while it changes, so that the queue is not copied on write.
            self.state = .closed
            let wasIdle = ready.pending.isEmpty
            for request in requests {
                if case .subscription = request.kind { ready.subscribed = true }
                ready.pending.append(request)
            }
            self.state = .ready(ready)
            guard wasIdle, let first = ready.pending.first else { return .write(timer: .keep) }
            return .write(timer: .schedule(first.deadline))
        case .initialized, .handshaking:
            return .refuse(RedisClientError(.connectionClosed, message: "the connection is not ready yet"))
        case .closing:
            return .refuse(RedisClientError(.connectionClosing))
        case .closed:
            return .refuse(RedisClientError(.connectionClosed))
        }
    }

    /// A complete reply or push arrived.
    mutating func receivedToken(_ token: RESPToken) -> Action {
        switch self.state {
        case .initialized, .closed:
            return .none
        case .handshaking(let step, let version):
            return self.handshakeReply(token, step: step, version: version)
        case .ready(var ready):
            // Out of `state` while it changes, so that the queue is not copied on write.
            self.state = .closed
            let action = Self.reply(token, ready: &ready, closing: false)
            if case .close = action { return action }
            self.state = .ready(ready)
            return action
        case .closing(var ready):
            self.state = .closed
            let action = Self.reply(token, ready: &ready, closing: true)
            switch action {
            case .close, .deliver(_, _, _, close: true): break
            default: self.state = .closing(ready)
            }
            return action
        }
    }

    /// The timer fired at `now`.
    mutating func timeoutFired(now: NIODeadline) -> Action {
        switch self.state {
        case .initialized, .closed:
            return .none
        case .handshaking:
            self.state = .closed
            return .close(
                handshakeError: RedisClientError(.timeout, message: "the connection's handshake took longer than the connect timeout"),
                failing: []
            )
        case .ready(let ready), .closing(let ready):
            guard let oldest = ready.pending.first else { return .none }
            guard oldest.deadline <= now else { return .deliver(push: nil, completed: nil, timer: .schedule(oldest.deadline), close: false) }
            self.state = .closed
            var failing = [(oldest.request, RedisClientError(.timeout, message: "no reply came before the command timeout"))]
            for later in ready.pending.dropFirst() {
                failing.append((later.request, RedisClientError(.connectionClosed, message: "an earlier command timed out and the connection was closed")))
            }
            return .close(handshakeError: nil, failing: failing)
        }
    }

    /// The caller closes the connection: requests already sent still get their replies.
    mutating func close() -> Action {
        switch self.state {
        case .initialized, .handshaking:
            self.state = .closed
            return .close(handshakeError: RedisClientError(.connectionClosed, message: "the connection was closed during its handshake"), failing: [])
        case .ready(let ready):
            if ready.pending.isEmpty {
                self.state = .closed
                return .close(handshakeError: nil, failing: [])
            }
            self.state = .closing(ready)
            return .none
        case .closing, .closed:
            return .none
        }
    }

    /// The channel closed (the server went away, or we closed it).
    mutating func channelInactive() -> Action {
        self.fail(with: RedisClientError(.connectionClosed))
    }

    /// The pipeline reported an error: a malformed reply, or an I/O error.
    mutating func errorCaught(_ error: any Error) -> Action {
        if let parsing = error as? RESPParsingError {
            return self.fail(with: RedisClientError(.protocolError, message: parsing.description))
        }
        if let client = error as? RedisClientError {
            return self.fail(with: client)
        }
        return self.fail(with: RedisClientError(.connectionClosed, message: "\(error)"))
    }

    // MARK: Helpers

    private mutating func fail(with error: RedisClientError) -> Action {
        switch self.state {
        case .initialized, .handshaking:
            self.state = .closed
            return .close(handshakeError: error, failing: [])
        case .ready(let ready), .closing(let ready):
            self.state = .closed
            return .close(handshakeError: nil, failing: ready.pending.map { ($0.request, error) })
        case .closed:
            return .none
        }
    }

    private mutating func handshakeReply(_ token: RESPToken, step: HandshakeStep, version: RESPVersion) -> Action {
        if let message = token.errorMessage {
            let refusedCredentials = ["WRONGPASS", "NOAUTH", "NOPERM", "ERR invalid password", "ERR AUTH"].contains { message.hasPrefix($0) }
            switch step {
            case .hello where !refusedCredentials:
                // A server without RESP3 (NOPROTO) or without HELLO (before Redis 6): RESP2, then AUTH.
                if let password = self.handshake.password {
                    self.state = .handshaking(.auth, .resp2)
                    var arguments: [RESPCommand.Argument] = []
                    if let username = self.handshake.username { arguments.append(.string(username)) }
                    arguments.append(.string(password))
                    return .sendHandshakeCommand(RESPCommand("AUTH", arguments: arguments), timer: .keep)
                }
                return self.afterAuthentication(version: .resp2)
            case .hello, .auth:
                self.state = .closed
                return .close(handshakeError: RedisClientError(.authenticationFailed, message: message), failing: [])
            case .select:
                self.state = .closed
                return .close(handshakeError: RedisClientError(.handshakeFailed, message: message), failing: [])
            }
        }
        if token.identifier == .push { return .none }
        switch step {
        case .hello, .auth:
            return self.afterAuthentication(version: version)
        case .select:
            self.state = .ready(Ready(pending: [], version: version, subscribed: false))
            return .handshakeCompleted(version)
        }
    }

    private mutating func afterAuthentication(version: RESPVersion) -> Action {
        guard self.handshake.database == 0 else {
            self.state = .handshaking(.select, version)
            return .sendHandshakeCommand(RESPCommand("SELECT", .integer(Int64(self.handshake.database))), timer: .keep)
        }
        self.state = .ready(Ready(pending: [], version: version, subscribed: false))
        return .handshakeCompleted(version)
    }

    private static func reply(_ token: RESPToken, ready: inout Ready, closing: Bool) -> Action {
        if let kind = Self.pushKind(token, ready: ready) {
            var completed: (Request, Result<RESPToken, RedisClientError>)?
            if case .subscription(let confirmation, let count)? = ready.pending.first?.kind, confirmation == kind {
                if count > 1 {
                    ready.pending[ready.pending.startIndex].kind = .subscription(confirmation: confirmation, count: count - 1)
                } else {
                    completed = (ready.pending.removeFirst().request, .success(token))
                }
            }
            let close = closing && ready.pending.isEmpty && completed != nil
            return .deliver(push: token, completed: completed, timer: completed == nil ? .keep : Self.timer(ready), close: close)
        }
        guard let oldest = ready.pending.popFirst() else {
            return .close(handshakeError: nil, failing: [])
        }
        let result: Result<RESPToken, RedisClientError> =
            if let message = token.errorMessage {
                .failure(RedisClientError(.commandError, message: message))
            } else {
                .success(token)
            }
        return .deliver(push: nil, completed: (oldest.request, result), timer: Self.timer(ready), close: closing && ready.pending.isEmpty)
    }

    private static func timer(_ ready: Ready) -> TimerAction {
        ready.pending.isEmpty ? .cancel : .keep
    }

    /// The pub/sub kind (`message`, `subscribe`, ...) when the token is a push rather than a reply.
    private static func pushKind(_ token: RESPToken, ready: Ready) -> String? {
        switch token.value {
        case .push(let elements):
            return elements.first(where: { _ in true })?.string?.lowercased() ?? ""
        case .array(let elements) where ready.version == .resp2 && ready.subscribed:
            guard let kind = elements.first(where: { _ in true })?.string?.lowercased(), pubSubKinds.contains(kind) else { return nil }
            return kind
        default:
            return nil
        }
    }

}

/// The first element of a pub/sub array: what a RESP2 server sends in place of a push.
private let pubSubKinds: Set<String> = [
    "message", "pmessage", "smessage", "subscribe", "unsubscribe", "psubscribe", "punsubscribe", "ssubscribe", "sunsubscribe",
]
