import HeraldWire
import NIOCore
import Testing

@testable import HeraldBench

@Suite struct BenchConnectionStateMachineTests {
    private typealias Machine = BenchConnectionStateMachine
    private static let second: UInt64 = 1_000_000_000

    private static func configuration(
        transport: BenchTransport = .tcp,
        topics: [String] = [],
        acknowledge: Bool = true,
        heartbeat: UInt64 = 30 * second
    ) -> Machine.Configuration {
        Machine.Configuration(
            transport: transport,
            topics: topics,
            acknowledge: acknowledge,
            heartbeatNanos: heartbeat,
            setupTimeoutNanos: 10 * second
        )
    }

    private static func authOK(session: UInt16 = 1, heartbeat: Int = 30) -> ServerMessage {
        .authOK(
            seq: Machine.authSeq,
            AuthOK(
                session: session, app: "a", user: "u1", device: "default", heartbeat: heartbeat, node: "n", epoch: "e",
                recovered: .init(inbox: true, broadcast: true)
            )
        )
    }

    /// A machine that has gone through connect and AUTH over TCP.
    private static func ready(
        _ counters: inout BenchCounters,
        configuration: Machine.Configuration = configuration(),
        now: UInt64 = 0
    ) -> Machine {
        var machine = Machine(configuration: configuration)
        machine.start(now: now)
        _ = machine.channelActive(now: now, counters: &counters)
        machine.sent(now: now)
        _ = machine.received(Self.authOK(), now: now, counters: &counters)
        return machine
    }

    @Test func tcpConnectAuthenticateReady() {
        var counters = BenchCounters()
        var machine = Machine(configuration: Self.configuration())
        machine.start(now: 0)
        #expect(machine.state == .connecting)

        let active = machine.channelActive(now: 1, counters: &counters)
        #expect(active == Machine.Transition(send: .auth(seq: Machine.authSeq)))
        #expect(machine.state == .authenticating)
        #expect(counters.connected == 1)

        let ok = machine.received(Self.authOK(session: 3), now: 2, counters: &counters)
        #expect(ok == Machine.Transition(settle: .ready))
        #expect(machine.state == .ready(session: 3))
        #expect(machine.isReady)
        #expect(counters.authenticated == 1)
        #expect(counters.open == 1)
    }

    // MARK: Connect learned of after the channel is active

    private static func connecting(transport: BenchTransport = .tcp, connectTimeout: UInt64 = 3 * second) -> Machine {
        var configuration = Self.configuration(transport: transport)
        configuration.connectTimeoutNanos = connectTimeout
        var machine = Machine(configuration: configuration)
        machine.start(now: 0)
        return machine
    }

    @Test func connectInProgressSendsAuthAndCountsTheConnectWhenItCompletes() {
        var counters = BenchCounters()
        var machine = Self.connecting()
        let active = machine.channelActive(now: 1, connected: false, counters: &counters)
        #expect(active == Machine.Transition(send: .auth(seq: Machine.authSeq)), "AUTH waits in the channel")
        #expect(machine.awaitingConnect)
        #expect(counters.connected == 0)

        machine.connectCompleted(counters: &counters)
        #expect(!machine.awaitingConnect)
        #expect(counters.connected == 1)
        machine.connectCompleted(counters: &counters)
        #expect(counters.connected == 1, "counted once")

        // Past the connect timeout but inside the setup timeout: still waiting for AUTH_OK.
        #expect(machine.tick(now: 5 * Self.second, counters: &counters) == .none)
        #expect(machine.received(Self.authOK(), now: 6 * Self.second, counters: &counters).settle == .ready)
    }

    @Test func connectInProgressThatNeverCompletesTimesOutAtTheConnectTimeout() {
        var counters = BenchCounters()
        var machine = Self.connecting(connectTimeout: 3 * Self.second)
        _ = machine.channelActive(now: 1, connected: false, counters: &counters)
        #expect(machine.tick(now: 2 * Self.second, counters: &counters) == .none)
        let timeout = machine.tick(now: 3 * Self.second, counters: &counters)
        #expect(timeout == Machine.Transition(settle: .timedOut, close: true))
        #expect(counters.timeouts == 1)
        #expect(machine.channelClosed(counters: &counters) == nil, "settled already")
        #expect(counters.closedByServer == 0)
        #expect(counters.connected == 0)
    }

    @Test func connectInProgressThatFailsIsAConnectFailureNotAServerClose() {
        var counters = BenchCounters()
        var machine = Self.connecting()
        _ = machine.channelActive(now: 1, connected: false, counters: &counters)
        // Refused: the channel closes before the first write went out.
        #expect(machine.channelClosed(counters: &counters) == .connectFailed)
        #expect(counters.connectFailures == 1)
        #expect(counters.closedByServer == 0)
        #expect(counters.connected == 0)
        machine.connectCompleted(counters: &counters)
        #expect(counters.connected == 0, "a late completion of a closed attempt counts nothing")
    }

    @Test func webSocketConnectInProgressCountsAsConnectedOnlyOnceUpgraded() {
        var counters = BenchCounters()
        var machine = Self.connecting(transport: .webSocket)
        #expect(
            machine.channelActive(now: 1, connected: false, counters: &counters) == Machine.Transition(send: .upgrade))
        machine.connectCompleted(counters: &counters)
        #expect(counters.connected == 0)
        _ = machine.upgraded(now: 2, counters: &counters)
        #expect(counters.connected == 1)
    }

    @Test func webSocketUpgradesBeforeAuth() {
        var counters = BenchCounters()
        var machine = Machine(configuration: Self.configuration(transport: .webSocket))
        machine.start(now: 0)
        #expect(machine.channelActive(now: 0, counters: &counters) == Machine.Transition(send: .upgrade))
        #expect(machine.state == .upgrading)
        #expect(counters.connected == 0, "a WebSocket connection counts as connected once upgraded")
        #expect(machine.upgraded(now: 1, counters: &counters) == Machine.Transition(send: .auth(seq: Machine.authSeq)))
        #expect(counters.connected == 1)
        #expect(machine.state == .authenticating)
    }

    @Test func refusedUpgradeIsAConnectFailure() {
        var counters = BenchCounters()
        var machine = Machine(configuration: Self.configuration(transport: .webSocket))
        machine.start(now: 0)
        _ = machine.channelActive(now: 0, counters: &counters)
        let refused = machine.upgradeRefused(counters: &counters)
        #expect(refused == Machine.Transition(settle: .connectFailed, close: true))
        #expect(counters.connectFailures == 1)
        #expect(machine.channelClosed(counters: &counters) == nil, "settled once")
        #expect(counters.closedByServer == 0)
    }

    @Test func subscribesBeforeReady() {
        var counters = BenchCounters()
        var machine = Machine(configuration: Self.configuration(topics: ["news"]))
        machine.start(now: 0)
        _ = machine.channelActive(now: 0, counters: &counters)
        let ok = machine.received(Self.authOK(session: 2), now: 1, counters: &counters)
        #expect(ok == Machine.Transition(send: .subscribe(session: 2, seq: Machine.subscribeSeq)))
        #expect(machine.state == .subscribing(session: 2))
        #expect(counters.open == 0)
        // An OK for another request changes nothing.
        #expect(machine.received(.ok(seq: 99), now: 2, counters: &counters) == .none)
        #expect(
            machine.received(.ok(seq: Machine.subscribeSeq), now: 2, counters: &counters)
                == Machine.Transition(settle: .ready))
        #expect(machine.state == .ready(session: 2))
        #expect(counters.open == 1)
    }

    @Test func refusedSubscriptionSettlesAsFailure() {
        var counters = BenchCounters()
        var machine = Machine(configuration: Self.configuration(topics: ["secret"]))
        machine.start(now: 0)
        _ = machine.channelActive(now: 0, counters: &counters)
        _ = machine.received(Self.authOK(), now: 1, counters: &counters)
        let error = machine.received(
            .error(seq: Machine.subscribeSeq, ErrorBody(.forbiddenTopic, "no")),
            now: 2,
            counters: &counters
        )
        #expect(error == Machine.Transition(settle: .subscribeFailed("forbidden_topic"), close: true))
        #expect(counters.subscribeFailures == 1)
        #expect(counters.authenticated == 1)
    }

    @Test func serverBusyIsCountedAndRetryable() {
        var counters = BenchCounters()
        var machine = Machine(configuration: Self.configuration())
        machine.start(now: 0)
        _ = machine.channelActive(now: 0, counters: &counters)
        let busy = machine.received(.error(seq: 0, ErrorBody(.serverBusy, "full")), now: 1, counters: &counters)
        #expect(busy == Machine.Transition(settle: .refusedBusy, close: true))
        #expect(Machine.Settlement.refusedBusy.isRetryable)
        #expect(counters.refusedBusy == 1)
        #expect(counters.authFailures == 0)
        // The server closes too; that close is not counted again.
        #expect(machine.channelClosed(counters: &counters) == nil)
        #expect(counters.closedByServer == 0)
        #expect(counters.connectFailures == 0)
    }

    @Test func authFailureIsNotRetryable() {
        var counters = BenchCounters()
        var machine = Machine(configuration: Self.configuration())
        machine.start(now: 0)
        _ = machine.channelActive(now: 0, counters: &counters)
        let failed = machine.received(
            .error(seq: Machine.authSeq, ErrorBody(.authFailed, "bad signature")),
            now: 1,
            counters: &counters
        )
        #expect(failed == Machine.Transition(settle: .authFailed("auth_failed"), close: true))
        #expect(!Machine.Settlement.authFailed("auth_failed").isRetryable)
        #expect(counters.authFailures == 1)
    }

    @Test func serverCloseBeforeAnswerIsAConnectFailure() {
        var counters = BenchCounters()
        var machine = Machine(configuration: Self.configuration())
        machine.start(now: 0)
        _ = machine.channelActive(now: 0, counters: &counters)
        #expect(machine.channelClosed(counters: &counters) == .connectFailed)
        #expect(counters.connectFailures == 1)
        #expect(counters.closedByServer == 1)
    }

    @Test func connectErrorsSettleOnce() {
        var counters = BenchCounters()
        var machine = Machine(configuration: Self.configuration())
        machine.start(now: 0)
        #expect(machine.connectFailed(timedOut: true, counters: &counters) == .timedOut)
        #expect(machine.connectFailed(timedOut: false, counters: &counters) == nil)
        #expect(counters.timeouts == 1)
        #expect(counters.connectFailures == 0)
    }

    @Test func setupTimesOut() {
        var counters = BenchCounters()
        var machine = Machine(configuration: Self.configuration())
        machine.start(now: 0)
        _ = machine.channelActive(now: 0, counters: &counters)
        #expect(machine.tick(now: 9 * Self.second, counters: &counters) == .none)
        let late = machine.tick(now: 10 * Self.second, counters: &counters)
        #expect(late == Machine.Transition(settle: .timedOut, close: true))
        #expect(counters.timeouts == 1)
        #expect(machine.channelClosed(counters: &counters) == nil)
        #expect(counters.closedByServer == 0)
    }

    @Test func pingsWhenAHeartbeatHasPassedSinceTheLastFrame() {
        var counters = BenchCounters()
        // The server asks for 5 s, the plan for 30 s: the shorter wins.
        var machine = Machine(configuration: Self.configuration())
        machine.start(now: 0)
        _ = machine.channelActive(now: 0, counters: &counters)
        machine.sent(now: 0)
        _ = machine.received(Self.authOK(heartbeat: 5), now: 0, counters: &counters)
        #expect(machine.heartbeatNanos == 5 * Self.second)
        #expect(machine.tick(now: 4 * Self.second, counters: &counters) == .none)
        #expect(machine.tick(now: 5 * Self.second, counters: &counters) == Machine.Transition(send: .ping(seq: 1)))
        machine.sent(now: 5 * Self.second)
        #expect(machine.tick(now: 6 * Self.second, counters: &counters) == .none)
        #expect(machine.tick(now: 10 * Self.second, counters: &counters) == Machine.Transition(send: .ping(seq: 2)))
        #expect(counters.pingsSent == 2)
        _ = machine.received(.pong(seq: 1), now: 10 * Self.second, counters: &counters)
        #expect(counters.pongsReceived == 1)
    }

    @Test func heartbeatChoice() {
        #expect(Machine.heartbeat(plan: 0, server: 30) == 30 * Self.second)
        #expect(Machine.heartbeat(plan: 10 * Self.second, server: 0) == 10 * Self.second)
        #expect(Machine.heartbeat(plan: 10 * Self.second, server: 30) == 10 * Self.second)
        #expect(Machine.heartbeat(plan: 0, server: 0) == 0)
    }

    @Test func acksAreCumulativeAndQueuedOnce() {
        var counters = BenchCounters()
        var machine = Self.ready(&counters)
        func push(_ seq: UInt32, ack: Bool = true, kind: PushKind = .user) -> BenchFrameScanner.Push {
            BenchFrameScanner.Push(seq: seq, ackRequired: ack, session: 1, kind: kind, sentAt: nil)
        }
        #expect(machine.pushReceived(push(5), counters: &counters), "the first push to ACK queues the connection")
        #expect(!machine.pushReceived(push(7), counters: &counters), "already queued")
        #expect(!machine.pushReceived(push(6), counters: &counters))
        #expect(!machine.pushReceived(push(0, ack: false, kind: .broadcast), counters: &counters))
        #expect(machine.takeAck(counters: &counters) == .ack(session: 1, seq: 7))
        #expect(machine.takeAck(counters: &counters) == nil)
        #expect(machine.pushReceived(push(8), counters: &counters), "queued again after a flush")
        #expect(counters.userPushes == 4)
        #expect(counters.broadcastPushes == 1)
        #expect(counters.acksSent == 1)
    }

    @Test func noAcksWhenThePlanSaysSo() {
        var counters = BenchCounters()
        var machine = Self.ready(&counters, configuration: Self.configuration(acknowledge: false))
        let push = BenchFrameScanner.Push(seq: 3, ackRequired: true, session: 1, kind: .user, sentAt: nil)
        #expect(!machine.pushReceived(push, counters: &counters))
        #expect(machine.takeAck(counters: &counters) == nil)
        #expect(counters.userPushes == 1)
    }

    @Test func goAwayThenServerCloseIsCounted() {
        var counters = BenchCounters()
        var machine = Self.ready(&counters)
        let goAway = machine.received(
            .goaway(GoAway(session: 0, reason: .draining, reconnect: true)),
            now: 1,
            counters: &counters
        )
        #expect(goAway == .none, "the server closes after a GOAWAY; nothing to do but wait")
        #expect(machine.state == .closing)
        #expect(counters.goAways == 1)
        #expect(machine.channelClosed(counters: &counters) == nil)
        #expect(counters.closedByServer == 1)
        #expect(counters.open == 0)
    }

    @Test func goAwayForAnotherSessionIsOnlyCounted() {
        var counters = BenchCounters()
        var machine = Self.ready(&counters)
        _ = machine.received(
            .goaway(GoAway(session: 9, reason: .replaced, reconnect: false)), now: 1, counters: &counters)
        #expect(machine.isReady)
        #expect(counters.goAways == 1)
    }

    @Test func closingFromThisSideIsNotTheServers() {
        var counters = BenchCounters()
        var machine = Self.ready(&counters)
        let closes = machine.closeRequested()
        #expect(closes)
        #expect(machine.channelClosed(counters: &counters) == nil)
        #expect(counters.closedByServer == 0)
        #expect(counters.open == 0)
        let closesAgain = machine.closeRequested()
        #expect(!closesAgain, "already closed")
    }

    @Test func errorsOnceReadyKeepTheConnectionUnlessTheyClose() {
        var counters = BenchCounters()
        var machine = Self.ready(&counters)
        #expect(machine.received(.error(seq: 4, ErrorBody(.rateLimited, "slow")), now: 1, counters: &counters) == .none)
        #expect(machine.isReady)
        let fatal = machine.received(.error(seq: 0, ErrorBody(.badFrame, "?")), now: 2, counters: &counters)
        #expect(fatal.close)
        #expect(counters.errorsReceived == 2)
    }

    @Test func protocolViolationCloses() {
        var counters = BenchCounters()
        var machine = Self.ready(&counters)
        #expect(machine.protocolViolation(counters: &counters) == Machine.Transition(close: true))
        #expect(counters.protocolErrors == 1)
        #expect(counters.connectFailures == 0, "the attempt had already settled as ready")
    }
}
