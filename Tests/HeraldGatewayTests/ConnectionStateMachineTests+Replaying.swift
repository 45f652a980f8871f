import HeraldCore
import HeraldWire
import NIOCore
import Testing

@testable import HeraldGateway

/// A replay written in pages: the session is open, its live messages are held, and a further
/// AUTH waits for the last page.
extension ConnectionStateMachineTests {
    static func replayPlan(users: [UInt32] = [1, 2], broadcasts: [UInt32] = [8, 9]) -> ReplayPlan {
        Fixtures.plan(
            pushes: users.map { ReplayPlan.Push(seq: $0, kind: .user, ackRequired: true, payload: ByteBuffer()) }
                + broadcasts.map { ReplayPlan.Push(seq: $0, kind: .broadcast, ackRequired: false, payload: ByteBuffer()) }
        )
    }

    /// Opens a session whose replay is `plan`; returns its number.
    static func openReplaying(_ machine: inout Machine, plan: ReplayPlan, seq: UInt32 = 1) -> UInt16 {
        guard case .authenticate = machine.received(.auth(seq: seq, AuthRequest(token: "t"))),
            case .sessionOpened(_, let session, _, let replay, _) = machine.authSucceeded(
                seq: seq,
                token: Fixtures.verified(),
                plan: plan
            )
        else {
            Issue.record("AUTH did not open a session")
            return 0
        }
        #expect(replay.count == plan.pushes.count)
        return session.number
    }

    @Test func aSessionWithAReplayHoldsItsPushesUntilTheLastPage() {
        var machine = Machine()
        let session = Self.openReplaying(&machine, plan: Self.replayPlan())
        #expect(machine.isReplaying(session))
        #expect(machine.holdsPushes(for: session))
        #expect(!machine.isOpening(session))
        // The replay's broadcasts count as written: the highest is 9.
        #expect(machine.writtenBroadcastSequence(of: session) == 9)
        machine.replayWritten(session: session)
        #expect(!machine.isReplaying(session))
        #expect(!machine.holdsPushes(for: session))
        #expect(machine.acceptsPushes(for: session))
    }

    @Test func anEmptyReplayIsNotAPhase() {
        var machine = Machine()
        let session = Self.open(&machine)
        #expect(!machine.isReplaying(session))
        #expect(machine.acceptsPushes(for: session))
        #expect(machine.writtenBroadcastSequence(of: session) == 0)
    }

    @Test func whileReplayingRequestsAreAnsweredButAnotherAuthWaitsWithWhatFollowsIt() {
        var machine = Machine()
        let session = Self.openReplaying(&machine, plan: Self.replayPlan())
        guard case .sendPong(3) = machine.received(.ping(seq: 3)) else {
            Issue.record("PING while replaying was not answered")
            return
        }
        guard case .acknowledge(let ack) = machine.received(.ack(seq: 1, AckBody(session: session, kind: .user))) else {
            Issue.record("ACK while replaying was not taken")
            return
        }
        #expect(ack.seq == 1)
        guard case .none = machine.received(.auth(seq: 4, AuthRequest(token: "second"))) else {
            Issue.record("a second AUTH while replaying was not queued")
            return
        }
        // Behind the queued AUTH, even a PING waits, to keep the client's order.
        guard case .none = machine.received(.ping(seq: 5)) else {
            Issue.record("a PING behind a queued AUTH was answered first")
            return
        }
        #expect(machine.queuedMessageCount == 2)
        #expect(machine.nextQueuedMessage() == nil, "nothing is taken before the last page")
        machine.replayWritten(session: session)
        guard let next = machine.nextQueuedMessage(), case .auth(4, _) = next else {
            Issue.record("the queued AUTH did not come first")
            return
        }
        guard case .authenticate(4, _) = machine.received(next) else {
            Issue.record("the queued AUTH did not start")
            return
        }
    }

    @Test func endingTheReplayingSessionEndsTheReplay() {
        var machine = Machine()
        let session = Self.openReplaying(&machine, plan: Self.replayPlan())
        guard case .sessionEnded(_, let goAway, let close) = machine.endSession(session, reason: .kicked) else {
            Issue.record("the replaying session did not end")
            return
        }
        #expect(goAway.reason == GoAwayReason.kicked.rawValue)
        #expect(close)
        #expect(!machine.isReplaying(session))
    }

    @Test func theHighestBroadcastWrittenOnlyRises() {
        var machine = Machine()
        let session = Self.open(&machine)
        machine.broadcastWritten(session: session, seq: 12)
        machine.broadcastWritten(session: session, seq: 10)
        #expect(machine.writtenBroadcastSequence(of: session) == 12)
        #expect(machine.writtenBroadcastSequence(of: session + 1) == nil)
    }
}
