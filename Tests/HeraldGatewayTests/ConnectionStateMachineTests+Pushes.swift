import HeraldCore
import HeraldWire
import NIOCore
import Testing

@testable import HeraldGateway

/// Live messages from the shard: held while a session opens and replays, released after its
/// replay less what the replay carried, and broadcasts written once and in order.
extension ConnectionStateMachineTests {
    static func push(_ kind: PushKind, _ seq: UInt32) -> HeldPush {
        HeldPush(frame: ByteBuffer(string: "\(kind)-\(seq)"), kind: kind, seq: seq)
    }

    static func batch(_ pushes: [(PushKind, UInt32)], session: UInt16) -> PushBatch {
        PushBatch(
            pushes.map { FanOutQueue.Push(seq: $0.1, kind: $0.0, topic: "", payload: ByteBuffer(string: "\($0.0)")) },
            session: session
        )
    }

    /// The sequences of frames made by ``push(_:_:)``, in order.
    static func names(_ frames: [ByteBuffer]) -> [String] {
        frames.map { String(buffer: $0) }
    }

    /// A machine whose AUTH seq 1 verified: returns the opening session's number.
    static func opening(_ machine: inout Machine) -> UInt16 {
        guard case .authenticate = machine.received(.auth(seq: 1, AuthRequest(token: "t"))),
            case .loadReplay(let session) = machine.authVerified(seq: 1, token: Fixtures.verified())
        else {
            Issue.record("AUTH did not open a session")
            return 0
        }
        return session.number
    }

    @Test func pushesForAnOpeningSessionAreHeldAndGoOutAfterAuthOK() {
        var machine = Machine()
        _ = machine.received(.auth(seq: 1, AuthRequest(token: "t")))
        // Nothing is indexed before the token verified: a push then is not for this connection.
        #expect(machine.livePush(Self.push(.user, 1), session: 1) == .drop)
        guard case .loadReplay(let session) = machine.authVerified(seq: 1, token: Fixtures.verified()) else {
            Issue.record("no replay to load")
            return
        }
        #expect(machine.livePush(Self.push(.user, 4), session: session.number) == .held)
        #expect(machine.livePush(Self.push(.broadcast, 7), session: session.number) == .held)
        #expect(machine.livePush(Self.push(.user, 0), session: session.number) == .held)
        let batch = Self.batch([(.topic, 0)], session: session.number)
        #expect(machine.liveBatch(batch, session: session.number) == .held)
        #expect(machine.heldPushCount == 4)
        guard
            case .sessionOpened(_, _, _, .writeHeld(let frames), _) = machine.replayLoaded(
                seq: 1, plan: Fixtures.plan())
        else {
            Issue.record("the held pushes did not follow AUTH_OK")
            return
        }
        #expect(Self.names(Array(frames.prefix(3))) == ["user-4", "broadcast-7", "user-0"])
        #expect(frames.dropFirst(3) == [batch.frames[0].frame])
        #expect(machine.heldPushCount == 0)
        #expect(machine.writtenBroadcastSequence(of: session.number) == 7)
        #expect(machine.livePush(Self.push(.user, 5), session: session.number) == .write)
    }

    @Test func heldPushesTheReplayCarriedAreDropped() {
        var machine = Machine()
        let session = Self.opening(&machine)
        for push in [
            Self.push(.user, 3), Self.push(.broadcast, 9), Self.push(.user, 5), Self.push(.user, 0),
            Self.push(.broadcast, 10), Self.push(.topic, 0), Self.push(.broadcast, 10),
        ] {
            #expect(machine.livePush(push, session: session) == .held)
        }
        guard
            case .sessionOpened(_, _, _, .writeLastPage(_, let page), _) = machine.replayLoaded(
                seq: 1,
                plan: Self.replayPlan(users: [1, 2, 3, 4], broadcasts: [8, 9])
            )
        else {
            Issue.record("the replay did not follow AUTH_OK")
            return
        }
        #expect(page.map(\.seq) == [1, 2, 3, 4, 8, 9])
        #expect(machine.holdsPushes(for: session), "held until the last page is written")
        guard case .writeHeld(let frames) = machine.replayWritten(session: session) else {
            Issue.record("the held pushes did not follow the replay")
            return
        }
        // User messages up to inbox seq 4 and broadcasts up to 9 were replayed; QoS 0 and topic
        // messages (seq 0) always go out; the second broadcast 10 is a duplicate.
        #expect(Self.names(frames) == ["user-5", "user-0", "broadcast-10", "topic-0"])
        #expect(machine.writtenBroadcastSequence(of: session) == 10)
    }

    @Test func oneMoreThanMaxHeldPushesClosesAsASlowConsumer() {
        var machine = Machine(configuration: .init(maxHeldPushes: 3))
        let session = Self.opening(&machine)
        #expect(machine.livePush(Self.push(.user, 1), session: session) == .held)
        #expect(
            machine.liveBatch(Self.batch([(.broadcast, 1), (.broadcast, 2)], session: session), session: session)
                == .held)
        #expect(machine.heldPushCount == 3)
        #expect(machine.livePush(Self.push(.user, 2), session: session) == .closeSlowConsumer)
        #expect(
            machine.liveBatch(Self.batch([(.broadcast, 3)], session: session), session: session) == .closeSlowConsumer
        )
        #expect(machine.heldPushCount == 3, "nothing is held past the limit")
    }

    @Test func aFloodDuringAPagedReplayClosesToo() {
        var machine = Machine(configuration: .init(maxHeldPushes: 2))
        let session = Self.openReplaying(&machine, plan: Self.replayPlan())
        #expect(machine.livePush(Self.push(.user, 10), session: session) == .held)
        #expect(machine.livePush(Self.push(.user, 11), session: session) == .held)
        #expect(machine.livePush(Self.push(.user, 12), session: session) == .closeSlowConsumer)
    }

    @Test func liveBroadcastsAtOrBelowTheWrittenSequenceAreDropped() {
        var machine = Machine()
        let session = Self.openReplaying(&machine, plan: Self.replayPlan(users: [], broadcasts: [8, 9]))
        _ = machine.replayWritten(session: session)
        #expect(machine.liveBatch(Self.batch([(.broadcast, 9)], session: session), session: session) == .drop)
        let mixed = Self.batch([(.broadcast, 8), (.user, 3), (.broadcast, 10)], session: session)
        #expect(
            machine.liveBatch(mixed, session: session) == .writeFrames([mixed.frames[1].frame, mixed.frames[2].frame]))
        #expect(machine.writtenBroadcastSequence(of: session) == 10)
        #expect(
            machine.liveBatch(Self.batch([(.broadcast, 11), (.broadcast, 12)], session: session), session: session)
                == .write)
        #expect(machine.liveBatch(Self.batch([(.user, 4), (.topic, 0)], session: session), session: session) == .write)
        #expect(machine.writtenBroadcastSequence(of: session) == 12)
        #expect(machine.livePush(Self.push(.broadcast, 12), session: session) == .drop)
        #expect(machine.livePush(Self.push(.broadcast, 13), session: session) == .write)
    }

    @Test func pushesForASessionThatIsNotOpenAreDropped() {
        var machine = Machine()
        let session = Self.open(&machine, token: Fixtures.verified(user: "a"), seq: 1)
        let other = Self.open(&machine, token: Fixtures.verified(user: "b"), seq: 2)
        #expect(machine.livePush(Self.push(.user, 1), session: other + 1) == .drop)
        _ = machine.endSession(session, reason: .kicked)
        #expect(machine.livePush(Self.push(.user, 1), session: session) == .drop)
        #expect(machine.liveBatch(Self.batch([(.user, 1)], session: session), session: session) == .drop)
        #expect(machine.livePush(Self.push(.user, 1), session: other) == .write)
    }
}
