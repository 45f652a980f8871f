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
                + broadcasts.map {
                    ReplayPlan.Push(seq: $0, kind: .broadcast, ackRequired: false, payload: ByteBuffer())
                }
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
        if case .writeLastPage(_, let page) = replay {
            #expect(page.count == plan.pushes.count)
        } else {
            Issue.record("the replay is not one page")
        }
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
        _ = machine.replayWritten(session: session)
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
        _ = machine.replayWritten(session: session)
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

    static func pagedPlan(count: Int) -> ReplayPlan {
        // 12 + 4 + 34 = 50 bytes a frame: two reach a page of 100 bytes.
        let payload = ByteBuffer(repeating: 0x61, count: 34)
        return Fixtures.plan(
            pushes: (1...count).map {
                ReplayPlan.Push(seq: UInt32($0), kind: .user, ackRequired: true, payload: payload)
            }
        )
    }

    @Test func aLongReplayIsHandedOutPageByPage() {
        var machine = Machine(configuration: .init(replayPageBytes: 100))
        _ = machine.received(.auth(seq: 1, AuthRequest(token: "t")))
        guard
            case .sessionOpened(_, let session, _, .writePage(let replayed, let first), _) = machine.authSucceeded(
                seq: 1,
                token: Fixtures.verified(),
                plan: Self.pagedPlan(count: 5)
            )
        else {
            Issue.record("the replay did not start with a page")
            return
        }
        #expect(replayed == session.number)
        #expect(first.map(\.seq) == [1, 2])
        #expect(machine.isReplaying(session.number))
        // The page of a replay that ended (another session's) changes nothing.
        guard case .none = machine.replayPageWritten(session: session.number + 1) else {
            Issue.record("a stale page was taken for this replay")
            return
        }
        guard case .writePage(_, let second) = machine.replayPageWritten(session: session.number) else {
            Issue.record("no second page")
            return
        }
        #expect(second.map(\.seq) == [3, 4])
        guard case .writeLastPage(_, let last) = machine.replayPageWritten(session: session.number) else {
            Issue.record("no last page")
            return
        }
        #expect(last.map(\.seq) == [5])
        #expect(machine.isReplaying(session.number), "until the last page is written")
        guard case .writeHeld(let held) = machine.replayWritten(session: session.number) else {
            Issue.record("the replay did not end")
            return
        }
        #expect(held.isEmpty)
        #expect(!machine.isReplaying(session.number))
    }

    @Test func aSessionEndedMidReplayGetsNoMorePages() {
        var machine = Machine(configuration: .init(replayPageBytes: 100))
        _ = machine.received(.auth(seq: 1, AuthRequest(token: "t")))
        guard
            case .sessionOpened(_, let session, _, .writePage, _) = machine.authSucceeded(
                seq: 1,
                token: Fixtures.verified(),
                plan: Self.pagedPlan(count: 5)
            )
        else {
            Issue.record("the replay did not start with a page")
            return
        }
        #expect(machine.livePush(Self.push(.user, 9), session: session.number) == .held)
        guard case .sessionEnded = machine.endSession(session.number, reason: .kicked) else {
            Issue.record("the session did not end")
            return
        }
        #expect(machine.heldPushCount == 0)
        guard case .none = machine.replayPageWritten(session: session.number) else {
            Issue.record("a page followed the end of the session")
            return
        }
    }
}
