import HeraldCore
import HeraldWire
import Testing

@testable import HeraldGateway

/// ACKs are clamped to what the session was sent, and AUTHs per connection are limited.
extension ConnectionStateMachineTests {
    static func acknowledged(_ action: Machine.Action) -> UInt32? {
        guard case .acknowledge(let acknowledgement) = action else { return nil }
        return acknowledgement.seq
    }

    @Test func ackAboveWhatWasSentIsClampedAtOnce() {
        var machine = Machine()
        let session = Self.open(&machine)
        // Nothing sent yet: an ACK says nothing.
        #expect(Self.acknowledged(machine.received(.ack(seq: 1_000, AckBody(session: session, kind: .user)))) == nil)
        #expect(machine.livePush(Self.push(.user, 3), session: session) == .write)
        // QoS 0 messages (seq 0) and broadcasts are no inbox sequence.
        #expect(machine.livePush(Self.push(.user, 0), session: session) == .write)
        #expect(machine.livePush(Self.push(.broadcast, 50), session: session) == .write)
        #expect(Self.acknowledged(machine.received(.ack(seq: 1_000, AckBody(session: session, kind: .user)))) == 3)
        #expect(machine.sessions[session]?.acknowledgedUserSequence == 3)
        // Clamped, a later ACK above it is nothing new.
        #expect(Self.acknowledged(machine.received(.ack(seq: 2_000, AckBody(session: session, kind: .user)))) == nil)
        #expect(machine.livePush(Self.push(.user, 4), session: session) == .write)
        #expect(Self.acknowledged(machine.received(.ack(seq: 2_000, AckBody(session: session, kind: .user)))) == 4)
    }

    @Test func ackCoversTheReplayAndTheResumePoint() {
        var machine = Machine()
        let resume = AuthRequest.Resume(inbox: 7)
        guard case .authenticate = machine.received(.auth(seq: 1, AuthRequest(token: "t", resume: resume))),
            case .sessionOpened(_, let session, _, _, _) = machine.authSucceeded(
                seq: 1,
                token: Fixtures.verified(),
                plan: Fixtures.plan(pushes: [
                    ReplayPlan.Push(seq: 8, kind: .user, ackRequired: true, payload: Fixtures.buffer("m8")),
                    ReplayPlan.Push(seq: 9, kind: .user, ackRequired: true, payload: Fixtures.buffer("m9")),
                ])
            )
        else {
            Issue.record("AUTH did not open a session")
            return
        }
        #expect(session.sentUserSequence == 9)
        #expect(Self.acknowledged(machine.received(.ack(seq: 20, AckBody(session: session.number, kind: .user)))) == 9)

        // Without a replay, what the device says it had is what an ACK may reach.
        var resumed = Machine()
        guard case .authenticate = resumed.received(.auth(seq: 1, AuthRequest(token: "t", resume: resume))),
            case .sessionOpened(_, let only, _, _, _) = resumed.authSucceeded(
                seq: 1,
                token: Fixtures.verified(),
                plan: Fixtures.plan()
            )
        else {
            Issue.record("AUTH did not open a session")
            return
        }
        #expect(Self.acknowledged(resumed.received(.ack(seq: 20, AckBody(session: only.number, kind: .user)))) == 7)
    }

    @Test func authsWithAVerifiedTokenArePerConnectionLimited() {
        var machine = Machine(configuration: .init(maxAuthAttempts: 3))
        let first = Self.open(&machine, seq: 1)
        // A refused token loads no replay and does not count.
        guard case .authenticate = machine.received(.auth(seq: 2, AuthRequest(token: "t"))) else {
            Issue.record("AUTH 2 not taken")
            return
        }
        _ = machine.authFailed(seq: 2, ProtocolError(.authFailed, "bad token"))
        // A re-AUTH of the same device counts: it loads the replay again.
        let second = Self.open(&machine, seq: 3)
        let third = Self.open(&machine, seq: 4)
        #expect(Set([first, second, third]).count == 3)
        Self.expectError(
            machine.received(.auth(seq: 5, AuthRequest(token: "t"))),
            .rateLimited,
            seq: 5,
            closes: false
        )
        #expect(machine.pendingAuth == nil)
        #expect(machine.sessions.keys == [third])
        guard case .sendPong = machine.received(.ping(seq: 6)) else {
            Issue.record("the connection did not stay usable")
            return
        }
    }

    /// Per-connection memory: the sequence the ACK clamp keeps fills the padding before the
    /// session's first string (the session stays 88 bytes, the machine 147).
    @Test func theAckClampAddsNoBytesPerConnection() throws {
        let sent = try #require(MemoryLayout<Machine.Session>.offset(of: \.sentUserSequence))
        let app = try #require(MemoryLayout<Machine.Session>.offset(of: \.app))
        #expect(sent + MemoryLayout<UInt32>.size <= app)
    }
}
