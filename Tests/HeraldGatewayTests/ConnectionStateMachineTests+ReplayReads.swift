import HeraldCore
import HeraldWire
import NIOCore
import Testing

@testable import HeraldGateway

/// A replay read from the store in several parts: the next read is asked for only once
/// everything read so far is written, the held live messages wait for the last part, and
/// those any part carried are dropped.
extension ConnectionStateMachineTests {
    static func part(_ seqs: ClosedRange<UInt32>, more: Bool) -> ReplayPlan {
        let never = ReplayContinuation { $0.makeFailedFuture(ReplayReadNotExpected()) }
        return Fixtures.plan(
            pushes: seqs.map { ReplayPlan.Push(seq: $0, kind: .user, ackRequired: true, payload: ByteBuffer()) },
            more: more ? never : nil
        )
    }

    struct ReplayReadNotExpected: Error {}

    /// Opens a session whose replay is read in parts (1 and 2 first, more to come); nil,
    /// with an issue recorded, if it did not start with a page that is not the last.
    static func openReadingInParts(_ machine: inout Machine) -> Machine.Session? {
        _ = machine.received(.auth(seq: 1, AuthRequest(token: "t")))
        guard
            case .sessionOpened(_, let session, _, .writePage, _) = machine.authSucceeded(
                seq: 1, token: Fixtures.verified(), plan: Self.part(1...2, more: true))
        else {
            Issue.record("the replay did not start")
            return nil
        }
        return session
    }

    @Test func aReplayReadInPartsAsksForEachPartOnceTheOneBeforeIsWritten() {
        var machine = Machine()
        _ = machine.received(.auth(seq: 1, AuthRequest(token: "t")))
        guard
            case .sessionOpened(_, let session, _, .writePage(_, let first), _) = machine.authSucceeded(
                seq: 1, token: Fixtures.verified(), plan: Self.part(1...3, more: true))
        else {
            Issue.record("a replay with more to read did not start with a page that is not the last")
            return
        }
        #expect(first.map(\.seq) == [1, 2, 3])
        // Live messages meanwhile: 4 comes in the next part too, 7 only live.
        #expect(machine.livePush(Self.push(.user, 4), session: session.number) == .held)
        #expect(machine.livePush(Self.push(.user, 7), session: session.number) == .held)
        guard case .loadMore(let loading, _) = machine.replayPageWritten(session: session.number) else {
            Issue.record("the next part was not asked for")
            return
        }
        #expect(loading == session.number)
        #expect(machine.isReplaying(session.number))
        // A part for a replay that is not loading (a stale answer) changes nothing.
        guard case .none = machine.replayContinued(session: session.number + 1, plan: Self.part(9...9, more: false))
        else {
            Issue.record("a stale part was taken")
            return
        }
        guard
            case .writeLastPage(_, let last) = machine.replayContinued(
                session: session.number, plan: Self.part(4...6, more: false))
        else {
            Issue.record("the last part was not handed out as the last page")
            return
        }
        #expect(last.map(\.seq) == [4, 5, 6])
        guard case .writeHeld(let held) = machine.replayWritten(session: session.number) else {
            Issue.record("the replay did not end")
            return
        }
        // 4 came in the replay: only 7 goes out live.
        #expect(held.count == 1)
        #expect(!machine.isReplaying(session.number))
        #expect(machine.acceptsPushes(for: session.number))
    }

    @Test func aPartThatFindsNothingMoreEndsTheReplay() {
        var machine = Machine()
        guard let session = Self.openReadingInParts(&machine) else { return }
        guard case .loadMore = machine.replayPageWritten(session: session.number) else {
            Issue.record("the next part was not asked for")
            return
        }
        let empty = Fixtures.plan(pushes: [], more: ReplayContinuation { $0.makeFailedFuture(ReplayReadNotExpected()) })
        guard case .writeHeld = machine.replayContinued(session: session.number, plan: empty) else {
            Issue.record("an empty part did not end the replay")
            return
        }
        #expect(!machine.isReplaying(session.number))
    }

    @Test func aFailedReadOfTheNextPartClosesTheConnection() {
        var machine = Machine()
        guard let session = Self.openReadingInParts(&machine) else { return }
        _ = machine.replayPageWritten(session: session.number)
        guard case .fail(let error) = machine.replayContinuationFailed(session: session.number) else {
            Issue.record("a failed read did not end the connection")
            return
        }
        #expect(error.code == .internal)
        // A session kicked while its next part loads gets nothing more.
        var other = Machine()
        guard let kicked = Self.openReadingInParts(&other) else { return }
        _ = other.replayPageWritten(session: kicked.number)
        _ = other.endSession(kicked.number, reason: .kicked)
        guard case .none = other.replayContinued(session: kicked.number, plan: Self.part(3...3, more: false)) else {
            Issue.record("a part followed the end of the session")
            return
        }
    }

    @Test func anACKOfALaterPartMovesTheCursor() {
        var machine = Machine()
        guard let session = Self.openReadingInParts(&machine) else { return }
        _ = machine.replayPageWritten(session: session.number)
        guard case .writeLastPage = machine.replayContinued(session: session.number, plan: Self.part(3...5, more: false))
        else {
            Issue.record("the last part was not handed out")
            return
        }
        _ = machine.replayWritten(session: session.number)
        guard case .acknowledge(let acknowledgement) = machine.received(.ack(seq: 5, AckBody(session: session.number, kind: .user)))
        else {
            Issue.record("the ACK was not taken")
            return
        }
        #expect(acknowledgement.seq == 5)
    }
}
