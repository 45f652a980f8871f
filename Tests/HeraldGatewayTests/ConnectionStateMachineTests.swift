import HeraldCore
import HeraldWire
import NIOCore
import Testing

@testable import HeraldGateway

@Suite struct ConnectionStateMachineTests {
    typealias Machine = ConnectionStateMachine

    /// A machine with one session open for `token`; returns the session number.
    @discardableResult
    static func open(_ machine: inout Machine, token: VerifiedToken = Fixtures.verified(), seq: UInt32 = 1) -> UInt16 {
        guard case .authenticate = machine.received(.auth(seq: seq, AuthRequest(token: "t"))) else {
            Issue.record("AUTH did not ask to authenticate")
            return 0
        }
        guard
            case .sessionOpened(_, let session, _, _, _) = machine.authSucceeded(
                seq: seq,
                token: token,
                plan: Fixtures.plan()
            )
        else {
            Issue.record("AUTH did not open a session")
            return 0
        }
        return session.number
    }

    static func expectError(
        _ action: Machine.Action,
        _ code: ErrorCode,
        seq: UInt32,
        closes: Bool,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        guard case .sendError(let actualSeq, let error, let close) = action else {
            Issue.record("expected ERROR \(code.rawValue), got \(action)", sourceLocation: sourceLocation)
            return
        }
        #expect(error.code == code, sourceLocation: sourceLocation)
        #expect(actualSeq == seq, sourceLocation: sourceLocation)
        #expect(close == closes, sourceLocation: sourceLocation)
    }

    @Test func pingBeforeAuthIsAnswered() {
        var machine = Machine()
        guard case .sendPong(let seq) = machine.received(.ping(seq: 77)) else {
            Issue.record("no PONG")
            return
        }
        #expect(seq == 77)
        #expect(machine.state == .awaitingFirstAuth)
    }

    @Test(arguments: [
        ClientMessage.ack(seq: 5, AckBody(session: 1, kind: .user)),
        .upstream(seq: 5, UpstreamBody(session: 1, payload: ByteBuffer())),
        .subscribe(seq: 5, TopicsRequest(session: 1, topics: ["news"])),
        .unsubscribe(seq: 5, TopicsRequest(session: 1, topics: ["news"])),
    ])
    func anythingButAuthAndPingBeforeAuthIsAuthRequired(message: ClientMessage) {
        var machine = Machine()
        Self.expectError(machine.received(message), .authRequired, seq: 5, closes: true)
        #expect(machine.state == .closing)
        // Input after the closing error is ignored.
        guard case .none = machine.received(.ping(seq: 1)) else {
            Issue.record("input after close was not ignored")
            return
        }
    }

    @Test func authSucceededOpensSessionOneWithAuthOK() {
        var machine = Machine(configuration: .init(heartbeatSeconds: 45, nodeID: "node-a"))
        guard case .authenticate(let seq, let request) = machine.received(.auth(seq: 9, AuthRequest(token: "tok")))
        else {
            Issue.record("no authenticate")
            return
        }
        #expect(seq == 9)
        #expect(request.token == "tok")
        #expect(machine.pendingAuth == 9)
        let plan = ReplayPlan(
            epoch: "e7",
            recovered: AuthOK.Recovered(inbox: false, broadcast: true),
            pushes: [ReplayPlan.Push(seq: 3, kind: .broadcast, ackRequired: false, payload: ByteBuffer(string: "x"))]
        )
        guard
            case .sessionOpened(let okSeq, let session, let authOK, let replay, let replaced) =
                machine.authSucceeded(seq: 9, token: Fixtures.verified(), plan: plan)
        else {
            Issue.record("no session")
            return
        }
        #expect(okSeq == 9)
        #expect(session.number == 1)
        #expect(replaced == nil)
        guard case .writeLastPage(_, let page) = replay else {
            Issue.record("the replay is not one page")
            return
        }
        #expect(page.count == 1)
        #expect(
            authOK
                == AuthOK(
                    session: 1,
                    app: "demo",
                    user: "alice",
                    device: "phone",
                    heartbeat: 45,
                    node: "node-a",
                    epoch: "e7",
                    recovered: AuthOK.Recovered(inbox: false, broadcast: true)
                )
        )
        #expect(session.app == "demo" && session.user == "alice" && session.device == "phone")
        #expect(machine.state == .active)
        #expect(machine.isAuthenticated)
    }

    /// `session(_:)` finds the opening session while its replay loads, then the open one.
    @Test func sessionLookupCoversOpeningAndOpen() {
        var machine = Machine()
        _ = machine.received(.auth(seq: 4, AuthRequest(token: "t")))
        guard case .loadReplay(let opening) = machine.authVerified(seq: 4, token: Fixtures.verified()) else {
            Issue.record("no replay to load")
            return
        }
        #expect(machine.session(opening.number)?.user == "alice")
        #expect(machine.session(opening.number + 1) == nil)
        _ = machine.replayLoaded(seq: 4, plan: Fixtures.plan())
        #expect(machine.opening == nil)
        #expect(machine.session(opening.number)?.number == opening.number)
        #expect(machine.session(0) == nil)
    }

    @Test func defaultDeviceIsDefault() {
        var machine = Machine()
        guard case .authenticate = machine.received(.auth(seq: 1, AuthRequest(token: "t"))),
            case .sessionOpened(_, _, let authOK, _, _) = machine.authSucceeded(
                seq: 1,
                token: Fixtures.verified(device: nil),
                plan: Fixtures.plan()
            )
        else {
            Issue.record("no session")
            return
        }
        #expect(authOK.device == "default")
    }

    @Test(arguments: [ErrorCode.authFailed, .tokenExpired, .unknownApp])
    func authFailureClosesAFreshConnection(code: ErrorCode) {
        var machine = Machine()
        _ = machine.received(.auth(seq: 4, AuthRequest(token: "bad")))
        guard case .sendError(let seq, let error, let close, _) = machine.authFailed(seq: 4, ProtocolError(code, "no"))
        else {
            Issue.record("no error")
            return
        }
        #expect(seq == 4)
        #expect(error.code == code)
        #expect(close)
        #expect(machine.state == .closing)
    }

    @Test(arguments: [ErrorCode.authFailed, .tokenExpired, .unknownApp])
    func authFailureKeepsAConnectionWithSessions(code: ErrorCode) {
        var machine = Machine()
        Self.open(&machine)
        _ = machine.received(.auth(seq: 5, AuthRequest(token: "bad")))
        guard case .sendError(let seq, let error, let close, _) = machine.authFailed(seq: 5, ProtocolError(code, "no"))
        else {
            Issue.record("no error")
            return
        }
        #expect(seq == 5)
        #expect(error.code == code)
        #expect(!close)
        #expect(machine.state == .active)
        #expect(machine.sessions.count == 1)
    }

    @Test func sessionsAreNumberedUpwardsAndNotReusedAtOnce() {
        var machine = Machine()
        let first = Self.open(&machine, token: Fixtures.verified(user: "a"), seq: 1)
        let second = Self.open(&machine, token: Fixtures.verified(user: "b"), seq: 2)
        #expect(first == 1)
        #expect(second == 2)
        guard case .sessionEnded = machine.endSession(1, reason: .kicked) else {
            Issue.record("not ended")
            return
        }
        let third = Self.open(&machine, token: Fixtures.verified(user: "c"), seq: 3)
        #expect(third == 3)
    }

    @Test func tooManySessionsKeepsTheConnection() {
        var machine = Machine(configuration: .init(maxSessions: 2))
        Self.open(&machine, token: Fixtures.verified(user: "a"), seq: 1)
        Self.open(&machine, token: Fixtures.verified(user: "b"), seq: 2)
        Self.expectError(
            machine.received(.auth(seq: 3, AuthRequest(token: "t"))),
            .tooManySessions,
            seq: 3,
            closes: false
        )
        #expect(machine.state == .active)
        #expect(machine.pendingAuth == nil)
        guard case .sendPong = machine.received(.ping(seq: 4)) else {
            Issue.record("connection did not stay usable")
            return
        }
    }

    @Test func sameDeviceOnTheSameConnectionIsReplaced() {
        var machine = Machine()
        let old = Self.open(&machine, seq: 1)
        _ = machine.received(.auth(seq: 2, AuthRequest(token: "t")))
        guard
            case .sessionOpened(_, let session, _, _, let replaced) =
                machine.authSucceeded(seq: 2, token: Fixtures.verified(), plan: Fixtures.plan())
        else {
            Issue.record("no session")
            return
        }
        #expect(replaced?.number == old)
        #expect(session.number == 2)
        #expect(machine.sessions.keys.sorted() == [2])
        #expect(machine.state == .active)
    }

    @Test func otherDeviceOfTheSameUserIsNotReplaced() {
        var machine = Machine()
        Self.open(&machine, token: Fixtures.verified(device: "phone"), seq: 1)
        _ = machine.received(.auth(seq: 2, AuthRequest(token: "t")))
        guard
            case .sessionOpened(_, _, _, _, let replaced) =
                machine.authSucceeded(seq: 2, token: Fixtures.verified(device: "tablet"), plan: Fixtures.plan())
        else {
            Issue.record("no session")
            return
        }
        #expect(replaced == nil)
        #expect(machine.sessions.count == 2)
    }

    @Test func unknownSessionStaysOpen() {
        var machine = Machine()
        Self.open(&machine)
        Self.expectError(
            machine.received(.ack(seq: 10, AckBody(session: 9, kind: .user))),
            .unknownSession,
            seq: 10,
            closes: false
        )
        Self.expectError(
            machine.received(.upstream(seq: 11, UpstreamBody(session: 9, payload: ByteBuffer()))),
            .unknownSession,
            seq: 11,
            closes: false
        )
        Self.expectError(
            machine.received(.subscribe(seq: 12, TopicsRequest(session: 9, topics: ["a"]))),
            .unknownSession,
            seq: 12,
            closes: false
        )
        Self.expectError(
            machine.received(.unsubscribe(seq: 13, TopicsRequest(session: 0, topics: ["a"]))),
            .unknownSession,
            seq: 13,
            closes: false
        )
        #expect(machine.state == .active)
    }

    @Test func upstreamIsUnavailable() {
        var machine = Machine()
        let session = Self.open(&machine)
        Self.expectError(
            machine.received(.upstream(seq: 8, UpstreamBody(session: session, payload: ByteBuffer(string: "hi")))),
            .upstreamUnavailable,
            seq: 8,
            closes: false
        )
    }

    @Test func ackOfUserKindRecordsTheHighestSequence() {
        var machine = Machine()
        let session = Self.open(&machine)
        // The session was sent up to 9: ACKs up to it are taken as they are.
        #expect(machine.livePush(Self.push(.user, 9), session: session) == .write)
        var handedOn: [UInt32] = []
        for seq: UInt32 in [5, 3, 9, 7] {
            switch machine.received(.ack(seq: seq, AckBody(session: session, kind: .user))) {
            case .none:
                break
            case .acknowledge(let acknowledgement):
                #expect(acknowledgement.device == machine.sessions[session]?.device)
                handedOn.append(acknowledgement.seq)
            default:
                Issue.record("ACK answered")
            }
        }
        // Only rises reach the cursor writer; a broadcast ACK is not a cursor.
        #expect(handedOn == [5, 9])
        guard case .none = machine.received(.ack(seq: 100, AckBody(session: session, kind: .broadcast))) else {
            Issue.record("broadcast ACK handed on")
            return
        }
        #expect(machine.sessions[session]?.acknowledgedUserSequence == 9)
    }

    @Test func subscribeAndUnsubscribe() {
        var machine = Machine()
        let session = Self.open(&machine)
        guard
            case .subscribed(let seq, let number, let app, let added) =
                machine.received(
                    .subscribe(seq: 20, TopicsRequest(session: session, topics: ["news", "scores", "news"]))
                )
        else {
            Issue.record("not subscribed")
            return
        }
        #expect(seq == 20)
        #expect(number == session)
        #expect(app == "demo")
        #expect(added == ["news", "scores"])
        guard
            case .subscribed(_, _, _, let again) =
                machine.received(.subscribe(seq: 21, TopicsRequest(session: session, topics: ["news"])))
        else {
            Issue.record("not subscribed")
            return
        }
        #expect(again.isEmpty)
        guard
            case .unsubscribed(let unSeq, _, _, let removed) =
                machine.received(.unsubscribe(seq: 22, TopicsRequest(session: session, topics: ["news", "weather"])))
        else {
            Issue.record("not unsubscribed")
            return
        }
        #expect(unSeq == 22)
        #expect(removed == ["news"])
        #expect(machine.sessions[session]?.subscriptions == ["scores"])
    }

    @Test func forbiddenTopicRefusesTheWholeRequest() {
        var machine = Machine()
        let session = Self.open(&machine, token: Fixtures.verified(topics: ["news", "sports.*"]))
        Self.expectError(
            machine.received(.subscribe(seq: 30, TopicsRequest(session: session, topics: ["news", "secret"]))),
            .forbiddenTopic,
            seq: 30,
            closes: false
        )
        #expect(machine.sessions[session]?.subscriptions.isEmpty == true)
        guard
            case .subscribed(_, _, _, let added) =
                machine.received(.subscribe(seq: 31, TopicsRequest(session: session, topics: ["news", "sports.f1"])))
        else {
            Issue.record("allowed topics refused")
            return
        }
        #expect(added == ["news", "sports.f1"])
    }

    @Test(arguments: ["", "a*", String(repeating: "x", count: 256)])
    func invalidTopicNameIsBadFrameAndClose(topic: String) {
        var machine = Machine()
        let session = Self.open(&machine)
        Self.expectError(
            machine.received(.subscribe(seq: 40, TopicsRequest(session: session, topics: ["ok", topic]))),
            .badFrame,
            seq: 40,
            closes: true
        )
        #expect(machine.state == .closing)
    }

    @Test func subscriptionLimitIsForbiddenTopic() {
        var machine = Machine(configuration: .init(maxSubscriptionsPerSession: 2))
        let session = Self.open(&machine)
        _ = machine.received(.subscribe(seq: 1, TopicsRequest(session: session, topics: ["a", "b"])))
        Self.expectError(
            machine.received(.subscribe(seq: 2, TopicsRequest(session: session, topics: ["c"]))),
            .forbiddenTopic,
            seq: 2,
            closes: false
        )
        #expect(machine.sessions[session]?.subscriptions == ["a", "b"])
    }

    @Test func framesDuringPendingAuthAreQueuedInOrder() {
        var machine = Machine()
        _ = machine.received(.auth(seq: 1, AuthRequest(token: "t")))
        for seq: UInt32 in 2...4 {
            guard case .none = machine.received(.ping(seq: seq)) else {
                Issue.record("not queued")
                return
            }
        }
        _ = machine.received(.subscribe(seq: 5, TopicsRequest(session: 1, topics: ["news"])))
        #expect(machine.queuedMessageCount == 4)
        #expect(machine.nextQueuedMessage() == nil)  // still pending
        _ = machine.authSucceeded(seq: 1, token: Fixtures.verified(), plan: Fixtures.plan())
        var answered: [UInt32] = []
        while let message = machine.nextQueuedMessage() {
            switch machine.received(message) {
            case .sendPong(let seq): answered.append(seq)
            case .subscribed(let seq, _, _, _): answered.append(seq)
            default: Issue.record("unexpected action")
            }
        }
        #expect(answered == [2, 3, 4, 5])
    }

    @Test func queuedSubscribeBeforeFailedFirstAuthIsDropped() {
        var machine = Machine()
        _ = machine.received(.auth(seq: 1, AuthRequest(token: "t")))
        _ = machine.received(.subscribe(seq: 2, TopicsRequest(session: 1, topics: ["news"])))
        _ = machine.authFailed(seq: 1, ProtocolError(.authFailed, "bad"))
        #expect(machine.nextQueuedMessage() == nil)
        #expect(machine.state == .closing)
    }

    @Test func queuedAuthRunsAfterThePendingOne() {
        var machine = Machine()
        _ = machine.received(.auth(seq: 1, AuthRequest(token: "first")))
        _ = machine.received(.auth(seq: 2, AuthRequest(token: "second")))
        _ = machine.received(.ping(seq: 3))
        _ = machine.authSucceeded(seq: 1, token: Fixtures.verified(user: "a"), plan: Fixtures.plan())
        guard let next = machine.nextQueuedMessage(), case .authenticate(let seq, let request) = machine.received(next)
        else {
            Issue.record("queued AUTH not run")
            return
        }
        #expect(seq == 2)
        #expect(request.token == "second")
        // The PING waits for the second AUTH.
        #expect(machine.nextQueuedMessage() == nil)
        _ = machine.authSucceeded(seq: 2, token: Fixtures.verified(user: "b"), plan: Fixtures.plan())
        guard let ping = machine.nextQueuedMessage(), case .sendPong(3) = machine.received(ping) else {
            Issue.record("PING not answered after the second AUTH")
            return
        }
        #expect(machine.sessions.count == 2)
    }

    @Test func queueIsBounded() {
        var machine = Machine(configuration: .init(maxQueuedMessages: 2))
        _ = machine.received(.auth(seq: 1, AuthRequest(token: "t")))
        _ = machine.received(.ping(seq: 2))
        _ = machine.received(.ping(seq: 3))
        Self.expectError(machine.received(.ping(seq: 4)), .rateLimited, seq: 4, closes: false)
        #expect(machine.queuedMessageCount == 2)
    }

    @Test func endingTheLastSessionClosesTheConnection() {
        var machine = Machine()
        let a = Self.open(&machine, token: Fixtures.verified(user: "a"), seq: 1)
        let b = Self.open(&machine, token: Fixtures.verified(user: "b"), seq: 2)
        guard case .sessionEnded(let first, let goAway, let close) = machine.endSession(a, reason: .kicked) else {
            Issue.record("not ended")
            return
        }
        #expect(first.number == a)
        #expect(goAway == GoAway(session: a, reason: .kicked, reconnect: false))
        #expect(!close)
        guard case .none = machine.endSession(a, reason: .kicked) else {
            Issue.record("ended twice")
            return
        }
        guard case .sessionEnded(_, let last, let closeLast) = machine.endSession(b, reason: .replaced) else {
            Issue.record("not ended")
            return
        }
        #expect(last.knownReason == .replaced)
        #expect(closeLast)
        #expect(machine.state == .closing)
    }

    @Test func drainSendsGoAwaySessionZero() {
        var machine = Machine()
        Self.open(&machine)
        guard case .goAway(let goAway, let ended) = machine.drain(retryAfterMs: 1500) else {
            Issue.record("no GOAWAY")
            return
        }
        #expect(goAway == GoAway(session: 0, reason: .draining, reconnect: true, retryAfterMs: 1500))
        #expect(ended.count == 1)
        #expect(machine.sessions.isEmpty)
        #expect(machine.state == .closing)
        guard case .none = machine.drain(retryAfterMs: 1) else {
            Issue.record("drained twice")
            return
        }
    }

    @Test func protocolViolationClosesWithTheCodeAndSeq() {
        var machine = Machine()
        Self.open(&machine)
        Self.expectError(
            machine.protocolViolation(seq: 12, ProtocolError(.unknownOp, "x")),
            .unknownOp,
            seq: 12,
            closes: true
        )
        #expect(machine.state == .closing)
    }

    @Test func connectionClosedReturnsOpenSessions() {
        var machine = Machine()
        Self.open(&machine, token: Fixtures.verified(user: "a"), seq: 1)
        Self.open(&machine, token: Fixtures.verified(user: "b"), seq: 2)
        let remaining = machine.connectionClosed()
        #expect(Set(remaining.map(\.user)) == ["a", "b"])
        #expect(machine.state == .closed)
        #expect(machine.connectionClosed().isEmpty)
    }

    /// The replay of an AUTH can load after the connection closed: it is not used.
    @Test func staleAuthCompletionIsIgnored() {
        var machine = Machine()
        _ = machine.received(.auth(seq: 3, AuthRequest(token: "t")))
        guard case .loadReplay = machine.authVerified(seq: 3, token: Fixtures.verified()) else {
            Issue.record("no replay to load")
            return
        }
        _ = machine.connectionClosed()
        guard case .none = machine.replayLoaded(seq: 3, plan: Fixtures.plan()) else {
            Issue.record("completion after the close was used")
            return
        }
        #expect(machine.sessions.isEmpty)
    }
}
