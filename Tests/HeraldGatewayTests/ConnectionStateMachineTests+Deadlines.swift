import HeraldCore
import HeraldWire
import Testing

@testable import HeraldGateway

/// The deadlines the machine chooses from the ticks it is given: auth until the first AUTH_OK,
/// idle after it, the grace period while closing.
extension ConnectionStateMachineTests {
    static let timed = Machine.Configuration(authTimeoutTicks: 10, idleTimeoutTicks: 20, closeGraceTicks: 3)

    @Test func theAuthDeadlineIsArmedAtTheStartAndEndsTheConnection() {
        var machine = Machine(configuration: Self.timed)
        #expect(machine.connectionStarted(now: 5) == .armDeadline(.auth, at: 15))
        // Input does not move the auth deadline.
        machine.inputReceived(now: 12)
        #expect(machine.deadlineReached(now: 14) == .armDeadline(.auth, at: 15))
        #expect(
            machine.deadlineReached(now: 15)
                == .sendErrorAndClose(ProtocolError(.authTimeout, "no successful AUTH within the auth timeout"))
        )
        #expect(machine.state == .closing)
        #expect(machine.lastFrameWritten(now: 15) == .armDeadline(.closeGrace, at: 18))
        #expect(machine.deadlineReached(now: 18) == .close(.closeGrace))
    }

    /// An AUTH sent in time but still being verified (a slow store) is not the client's fault:
    /// the auth deadline moves on by one timeout while it is pending, and it completes normally.
    @Test func authTimeoutOnlyBeforeFirstAuthOK() {
        var pending = Machine(configuration: Self.timed)
        _ = pending.connectionStarted(now: 0)
        _ = pending.received(.auth(seq: 1, AuthRequest(token: "t")))
        #expect(pending.deadlineReached(now: 10) == .armDeadline(.auth, at: 20))
        #expect(pending.deadlineReached(now: 20) == .armDeadline(.auth, at: 30))
        guard case .sessionOpened = pending.authSucceeded(seq: 1, token: Fixtures.verified(), plan: Fixtures.plan())
        else {
            Issue.record("the pending AUTH did not complete")
            return
        }
        // Authenticated: the idle deadline, from the last input (the AUTH, at tick 0).
        #expect(pending.deadlineReached(now: 30) == .close(.idle))

        var authed = Machine(configuration: Self.timed)
        _ = authed.connectionStarted(now: 0)
        Self.open(&authed)
        #expect(authed.deadlineReached(now: 10) == .armDeadline(.idle, at: 20))
        #expect(authed.state == .active)
    }

    @Test func theIdleDeadlineIsArmedAgainAfterInput() {
        var machine = Machine(configuration: Self.timed)
        _ = machine.connectionStarted(now: 0)
        machine.inputReceived(now: 2)
        Self.open(&machine)
        // The auth entry fires first and arms the idle deadline from the last input.
        #expect(machine.deadlineReached(now: 10) == .armDeadline(.idle, at: 22))
        machine.inputReceived(now: 21)
        #expect(machine.deadlineReached(now: 22) == .armDeadline(.idle, at: 41))
        #expect(machine.deadlineReached(now: 40) == .armDeadline(.idle, at: 41))
        #expect(machine.deadlineReached(now: 41) == .close(.idle))
    }

    @Test func aClosingConnectionClosesAtItsDeadline() {
        var machine = Machine(configuration: Self.timed)
        _ = machine.connectionStarted(now: 0)
        Self.open(&machine)
        _ = machine.drain(retryAfterMs: 100)
        #expect(machine.lastFrameWritten(now: 4) == .armDeadline(.closeGrace, at: 7))
        #expect(machine.deadlineReached(now: 7) == .close(.closeGrace))
    }
}
