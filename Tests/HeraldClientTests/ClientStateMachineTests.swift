import HeraldWire
import NIOCore
import Testing

@testable import HeraldClient

@Suite struct ClientStateMachineTests {
    static let start = NIODeadline.uptimeNanoseconds(1_000_000_000)

    static func authOK(seq: UInt32, epoch: String = "e1", heartbeat: Int = 30) -> ServerMessage {
        .authOK(
            seq: seq,
            AuthOK(
                session: 1, app: "demo", user: "u1", device: "d1", heartbeat: heartbeat, node: "n1", epoch: epoch,
                recovered: .init(inbox: true, broadcast: true)
            )
        )
    }

    static func push(seq: UInt32, kind: PushKind = .user, ack: Bool = true, payload: String = "x") -> ServerMessage {
        .push(seq: seq, flags: ack ? .ackRequired : [], PushBody(session: 1, kind: kind, payload: ByteBuffer(string: payload)))
    }

    /// Decodes what the machine sent as the server would.
    static func sent(_ frame: Frame?) throws -> ClientMessage {
        try ClientMessage(try #require(frame))
    }

    /// Runs a machine to an authenticated session; returns the AUTH it sent.
    static func authenticated(
        _ machine: inout ClientStateMachine,
        token: String = "t",
        epoch: String = "e1",
        heartbeat: Int = 30
    ) throws -> AuthRequest {
        #expect(machine.startConnecting() == true)
        let auth = try Self.sent(machine.connectionEstablished(token: token))
        guard case .auth(let seq, let request) = auth else {
            Issue.record("expected AUTH, got \(auth)")
            return AuthRequest(token: "")
        }
        let action = machine.messageReceived(Self.authOK(seq: seq, epoch: epoch, heartbeat: heartbeat), now: Self.start)
        guard case .authenticated(let session, _, _) = action else {
            Issue.record("expected authenticated, got \(action)")
            return request
        }
        #expect(session.app == "demo" && session.user == "u1" && session.device == "d1" && session.node == "n1")
        return request
    }

    @Test func authSuccessReportsTheSessionAndHeartbeat() throws {
        var machine = ClientStateMachine(resume: nil, topics: [])
        #expect(machine.startConnecting() == true)
        let auth = try Self.sent(machine.connectionEstablished(token: "tok"))
        guard case .auth(let seq, let request) = auth else { throw Failure("expected AUTH") }
        #expect(request.token == "tok")
        #expect(request.resume == nil)
        let action = machine.messageReceived(Self.authOK(seq: seq, heartbeat: 7), now: Self.start)
        guard case .authenticated(let session, let heartbeat, let frames) = action else { throw Failure("\(action)") }
        #expect(session.id == 1 && session.epoch == "e1" && session.heartbeat == .seconds(7))
        #expect(heartbeat == .seconds(7))
        #expect(frames.isEmpty)
        #expect(machine.session == session)
    }

    @Test func authOKWithTheWrongSeqIsAProtocolViolation() throws {
        var machine = ClientStateMachine(resume: nil, topics: [])
        #expect(machine.startConnecting() == true)
        _ = machine.connectionEstablished(token: "t")
        #expect(machine.messageReceived(Self.authOK(seq: 999), now: Self.start) == .closeConnection)
        guard case .reconnect(.backoff(attempt: 0), .protocolViolation) = machine.connectionClosed() else {
            throw Failure("expected a backoff reconnect")
        }
    }

    @Test(arguments: [ErrorCode.authFailed, .tokenExpired, .unknownApp])
    func authenticationFailureStops(code: ErrorCode) throws {
        var machine = ClientStateMachine(resume: nil, topics: [])
        #expect(machine.startConnecting() == true)
        let auth = try Self.sent(machine.connectionEstablished(token: "t"))
        let body = ErrorBody(code, "no")
        #expect(machine.messageReceived(.error(seq: auth.seq, body), now: Self.start) == .closeConnection)
        #expect(machine.connectionClosed() == .stop(.authenticationFailed(body)))
        #expect(machine.isFinished)
        #expect(machine.startConnecting() == false)
    }

    @Test func serverBusyBacksOffWithGrowingAttempts() throws {
        var machine = ClientStateMachine(resume: nil, topics: [])
        let busy = ErrorBody(.serverBusy, "full")
        for attempt in 0..<3 {
            #expect(machine.startConnecting() == true)
            _ = machine.connectionEstablished(token: "t")
            // server_busy comes with seq 0 on accept, or echoing the AUTH: both end the connection.
            #expect(machine.messageReceived(.error(seq: 0, busy), now: Self.start) == .closeConnection)
            #expect(machine.connectionClosed() == .reconnect(.backoff(attempt: attempt), .serverError(busy)))
        }
        // A successful AUTH resets the growth.
        _ = try Self.authenticated(&machine)
        #expect(machine.connectionClosed() == .reconnect(.backoff(attempt: 0), .connectionLost))
    }

    @Test func connectFailuresBackOff() {
        var machine = ClientStateMachine(resume: nil, topics: [])
        #expect(machine.startConnecting() == true)
        #expect(machine.connectFailed("refused") == .reconnect(.backoff(attempt: 0), .connectFailed("refused")))
        #expect(machine.startConnecting() == true)
        #expect(machine.connectFailed("refused") == .reconnect(.backoff(attempt: 1), .connectFailed("refused")))
        // The close of the failed channel that follows is not reported twice.
        #expect(machine.connectionClosed() == nil)
    }

    @Test func qos1PushIsDeliveredThenAcknowledgedCumulatively() throws {
        var machine = ClientStateMachine(resume: nil, topics: [])
        _ = try Self.authenticated(&machine)
        let action = machine.messageReceived(Self.push(seq: 5, payload: "hello"), now: Self.start)
        guard case .deliver(let push) = action else { throw Failure("\(action)") }
        #expect(push.seq == 5 && push.ackRequired && push.kind == .user && String(buffer: push.payload) == "hello")
        #expect(machine.cursors.inbox == 5)
        _ = machine.messageReceived(Self.push(seq: 6), now: Self.start)

        let ack = try Self.sent(machine.acknowledge(6))
        #expect(ack == .ack(seq: 6, AckBody(session: 1, kind: .user)))
        // Acknowledging an earlier sequence again sends nothing: ACKs are cumulative.
        #expect(machine.acknowledge(5) == nil)
        #expect(machine.acknowledge(6) == nil)
    }

    @Test func duplicatePushIsAcknowledgedButNotDeliveredAgain() throws {
        var machine = ClientStateMachine(resume: nil, topics: [])
        _ = try Self.authenticated(&machine)
        _ = machine.messageReceived(Self.push(seq: 3), now: Self.start)
        let again = machine.messageReceived(Self.push(seq: 3), now: Self.start)
        guard case .send(let frame) = again else { throw Failure("\(again)") }
        #expect(try ClientMessage(frame) == .ack(seq: 3, AckBody(session: 1, kind: .user)))
        // Broadcast duplicates are dropped silently; QoS 0 and topic messages are never deduplicated.
        guard case .deliver = machine.messageReceived(Self.push(seq: 9, kind: .broadcast, ack: false), now: Self.start)
        else { throw Failure("broadcast") }
        #expect(machine.messageReceived(Self.push(seq: 9, kind: .broadcast, ack: false), now: Self.start) == .none)
        guard case .deliver = machine.messageReceived(Self.push(seq: 0, ack: false), now: Self.start) else {
            throw Failure("qos0")
        }
        guard case .deliver = machine.messageReceived(Self.push(seq: 0, ack: false), now: Self.start) else {
            throw Failure("qos0 again")
        }
    }

    @Test func reconnectSendsResumeCursorsAndCatchUpAck() throws {
        var machine = ClientStateMachine(resume: nil, topics: [])
        _ = try Self.authenticated(&machine, epoch: "e1")
        _ = machine.messageReceived(Self.push(seq: 4), now: Self.start)
        _ = machine.messageReceived(Self.push(seq: 12, kind: .broadcast, ack: false), now: Self.start)
        #expect(machine.connectionClosed() == .reconnect(.backoff(attempt: 0), .connectionLost))
        // The consumer receives push 4 while the client is disconnected: its ACK goes out after AUTH_OK.
        #expect(machine.acknowledge(4) == nil)

        #expect(machine.startConnecting() == true)
        let auth = try Self.sent(machine.connectionEstablished(token: "t2"))
        guard case .auth(let seq, let request) = auth else { throw Failure("AUTH") }
        #expect(request.resume == AuthRequest.Resume(epoch: "e1", inbox: 4, broadcast: 12))
        let action = machine.messageReceived(Self.authOK(seq: seq, epoch: "e1"), now: Self.start)
        guard case .authenticated(_, _, let frames) = action else { throw Failure("\(action)") }
        #expect(try frames.map { try ClientMessage($0) } == [.ack(seq: 4, AckBody(session: 1, kind: .user))])
    }

    @Test func newEpochResetsTheCursors() throws {
        var machine = ClientStateMachine(resume: HeraldResumeCursors(epoch: "old", inbox: 40, broadcast: 7), topics: [])
        let request = try Self.authenticated(&machine, epoch: "new")
        #expect(request.resume == AuthRequest.Resume(epoch: "old", inbox: 40, broadcast: 7))
        #expect(machine.cursors == HeraldResumeCursors(epoch: "new", inbox: 0, broadcast: 0))
        // Sequence 1 of the new epoch is new, not a duplicate of the old 40.
        guard case .deliver = machine.messageReceived(Self.push(seq: 1), now: Self.start) else { throw Failure("") }
    }

    @Test func goawayReplacedOrKickedStops() throws {
        for reason in [GoAwayReason.replaced, .kicked] {
            var machine = ClientStateMachine(resume: nil, topics: [])
            _ = try Self.authenticated(&machine)
            let goaway = GoAway(session: 1, reason: reason, reconnect: false)
            #expect(machine.messageReceived(.goaway(goaway), now: Self.start) == .goaway(goaway))
            #expect(machine.connectionClosed() == .stop(.goaway(goaway)))
            #expect(machine.startConnecting() == false)
        }
    }

    @Test func goawayDrainingReconnectsAfterRetryAfter() throws {
        var machine = ClientStateMachine(resume: nil, topics: [])
        _ = try Self.authenticated(&machine)
        let goaway = GoAway(session: 0, reason: .draining, reconnect: true, retryAfterMs: 1500)
        #expect(machine.messageReceived(.goaway(goaway), now: Self.start) == .goaway(goaway))
        #expect(machine.connectionClosed() == .reconnect(.retryAfter(.milliseconds(1500)), .goaway(goaway)))
        #expect(machine.startConnecting() == true)
    }

    @Test func goawayOverloadedBacksOff() throws {
        var machine = ClientStateMachine(resume: nil, topics: [])
        _ = try Self.authenticated(&machine)
        let goaway = GoAway(session: 0, reason: .overloaded, reconnect: true)
        _ = machine.messageReceived(.goaway(goaway), now: Self.start)
        #expect(machine.connectionClosed() == .reconnect(.backoff(attempt: 0), .goaway(goaway)))
    }

    @Test func goawayForAnotherSessionIsIgnored() throws {
        var machine = ClientStateMachine(resume: nil, topics: [])
        _ = try Self.authenticated(&machine)
        let goaway = GoAway(session: 2, reason: .kicked, reconnect: false)
        #expect(machine.messageReceived(.goaway(goaway), now: Self.start) == .none)
        #expect(machine.session != nil)
    }

    @Test func heartbeatPingsAndDetectsADeadConnection() throws {
        var machine = ClientStateMachine(resume: nil, topics: [])
        _ = try Self.authenticated(&machine, heartbeat: 5)
        let t1 = Self.start + .seconds(5)
        guard case .sendPing(let ping) = machine.heartbeatTimerFired(now: t1) else { throw Failure("ping") }
        guard case .ping = try ClientMessage(ping) else { throw Failure("not a PING") }
        // The PONG arrives: the next tick pings again.
        #expect(machine.messageReceived(.pong(seq: ping.seq), now: t1 + .milliseconds(20)) == .none)
        guard case .sendPing = machine.heartbeatTimerFired(now: t1 + .seconds(5)) else { throw Failure("second ping") }
        // Nothing arrives for a whole interval after that PING: the connection is dead.
        #expect(machine.heartbeatTimerFired(now: t1 + .seconds(10)) == .closeConnection)
        #expect(machine.connectionClosed() == .reconnect(.backoff(attempt: 0), .heartbeatTimeout))
    }

    @Test func anyFrameCountsAsALifeSign() throws {
        var machine = ClientStateMachine(resume: nil, topics: [])
        _ = try Self.authenticated(&machine, heartbeat: 1)
        guard case .sendPing = machine.heartbeatTimerFired(now: Self.start + .seconds(1)) else { throw Failure("") }
        _ = machine.messageReceived(Self.push(seq: 0, kind: .topic, ack: false), now: Self.start + .milliseconds(1500))
        guard case .sendPing = machine.heartbeatTimerFired(now: Self.start + .seconds(2)) else { throw Failure("") }
    }

    @Test func authenticationTimeoutBacksOff() {
        var machine = ClientStateMachine(resume: nil, topics: [])
        #expect(machine.startConnecting() == true)
        _ = machine.connectionEstablished(token: "t")
        #expect(machine.authenticationTimedOut() == true)
        #expect(machine.connectionClosed() == .reconnect(.backoff(attempt: 0), .authenticationTimeout))
    }

    @Test func subscribeUpstreamAndErrors() throws {
        var machine = ClientStateMachine(resume: nil, topics: [])
        #expect(machine.subscribe(["news"]) == .fail(.notConnected))
        _ = try Self.authenticated(&machine)

        guard case .send(let id, let frame) = machine.subscribe(["news", "scores"]) else { throw Failure("sub") }
        #expect(try ClientMessage(frame) == .subscribe(seq: id, TopicsRequest(session: 1, topics: ["news", "scores"])))
        #expect(machine.messageReceived(.ok(seq: id), now: Self.start) == .succeedRequest(id))
        #expect(machine.topics == ["news", "scores"])

        guard case .send(let denied, _) = machine.subscribe(["secret"]) else { throw Failure("sub2") }
        let forbidden = ErrorBody(.forbiddenTopic, "no")
        #expect(
            machine.messageReceived(.error(seq: denied, forbidden), now: Self.start)
                == .failRequest(denied, .server(forbidden), closeConnection: false)
        )
        #expect(machine.topics == ["news", "scores"])

        guard case .send(let up, let upFrame) = machine.upstream(ByteBuffer(string: "hi")) else { throw Failure("up") }
        #expect(try ClientMessage(upFrame) == .upstream(seq: up, UpstreamBody(session: 1, payload: ByteBuffer(string: "hi"))))
        let unavailable = ErrorBody(.upstreamUnavailable, "later")
        #expect(
            machine.messageReceived(.error(seq: up, unavailable), now: Self.start)
                == .failRequest(up, .server(unavailable), closeConnection: false)
        )

        guard case .send(let unsub, _) = machine.unsubscribe(["news"]) else { throw Failure("unsub") }
        #expect(machine.messageReceived(.ok(seq: unsub), now: Self.start) == .succeedRequest(unsub))
        #expect(machine.topics == ["scores"])

        // A request still waiting when the connection ends is failed by the driver.
        guard case .send(let lost, _) = machine.upstream(ByteBuffer()) else { throw Failure("lost") }
        _ = machine.connectionClosed()
        #expect(machine.takePendingRequests() == [lost])
    }

    @Test func topicsAreResubscribedAfterReconnect() throws {
        var machine = ClientStateMachine(resume: nil, topics: ["config"])
        #expect(machine.startConnecting() == true)
        let auth = try Self.sent(machine.connectionEstablished(token: "t"))
        let action = machine.messageReceived(Self.authOK(seq: auth.seq), now: Self.start)
        guard case .authenticated(_, _, let frames) = action, frames.count == 1,
            case .subscribe(let id, let request) = try ClientMessage(frames[0])
        else { throw Failure("\(action)") }
        #expect(request.topics == ["config"])
        // Its OK is internal: no request of the app waits for it.
        #expect(machine.messageReceived(.ok(seq: id), now: Self.start) == .none)
    }

    @Test func failedResubscriptionIsReported() throws {
        var machine = ClientStateMachine(resume: nil, topics: ["gone"])
        #expect(machine.startConnecting() == true)
        let auth = try Self.sent(machine.connectionEstablished(token: "t"))
        guard case .authenticated(_, _, let frames) = machine.messageReceived(Self.authOK(seq: auth.seq), now: Self.start)
        else { throw Failure("auth") }
        let body = ErrorBody(.forbiddenTopic, "no")
        #expect(
            machine.messageReceived(.error(seq: frames[0].seq, body), now: Self.start)
                == .subscriptionFailed(topics: ["gone"], body)
        )
        #expect(machine.topics.isEmpty)
    }

    @Test func undecodableFrameClosesAndBacksOff() throws {
        var machine = ClientStateMachine(resume: nil, topics: [])
        _ = try Self.authenticated(&machine)
        let bad = Frame(op: .push, seq: 1, body: ByteBuffer(bytes: [0, 1]))
        #expect(machine.frameReceived(bad, now: Self.start) == .closeConnection)
        guard case .reconnect(.backoff, .protocolViolation) = machine.connectionClosed() else { throw Failure("") }
    }

    @Test func closeByTheClientStops() throws {
        var machine = ClientStateMachine(resume: nil, topics: [])
        _ = try Self.authenticated(&machine)
        #expect(machine.close() == .closeConnection)
        #expect(machine.connectionClosed() == .stop(.closedByClient))
        #expect(machine.close() == .none)

        var idle = ClientStateMachine(resume: nil, topics: [])
        #expect(idle.close() == .finished)
        #expect(idle.subscribe(["x"]) == .fail(.finished))
    }
}

struct Failure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
