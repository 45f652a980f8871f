import HeraldCore
import HeraldWire
import NIOConcurrencyHelpers
import NIOCore
import NIOEmbedded
import Testing

@testable import HeraldGateway

/// Opening sessions: indexed before the store is read, live messages held until the replay
/// is written, and the overlap dropped by sequence.
extension ConnectionHandlerTests {
    final class RecordingAcknowledgements: AcknowledgementSink {
        let recorded = NIOLockedValueBox<[InboxAcknowledgement]>([])
        func record(_ acknowledgement: InboxAcknowledgement) {
            self.recorded.withLockedValue { $0.append(acknowledgement) }
        }
    }

    static func pushes(_ messages: [ServerMessage]) -> [(seq: UInt32, ack: Bool, kind: PushKind, text: String)] {
        messages.compactMap { message in
            guard case .push(let seq, let flags, let body) = message else { return nil }
            return (seq, flags.contains(.ackRequired), body.kind, String(buffer: body.payload))
        }
    }

    @Test func liveMessagesWaitForTheReplayAndSkipWhatItCarried() throws {
        let replay = ManualReplay()
        let harness = Harness(replay: replay)
        let channel = try harness.makeChannel()
        try channel.writeInbound(
            Fixtures.bytes(.auth(seq: 1, AuthRequest(token: Fixtures.token(user: "alice", device: "phone"))))
        )
        #expect(try harness.output(channel).isEmpty, "AUTH_OK before the replay loaded")
        #expect(replay.pendingCount == 1)

        // Stored while the replay loads: 3 is also in the replay, 4 is not.
        let shard = harness.shard
        for seq: UInt32 in [3, 4] {
            let written = shard.sendStored(
                app: "demo",
                deliveries: [UserSequence(user: "alice", seq: seq)],
                payload: Fixtures.buffer("live-\(seq)")
            )
            #expect(written == 1)
        }
        #expect(shard.sendToUsers(app: "demo", users: ["alice"], payload: Fixtures.buffer("qos0")) == 1)
        #expect(shard.broadcastOnLoop(app: "demo", seq: 7, payload: Fixtures.buffer("b7")) == 1)
        #expect(try harness.output(channel).isEmpty, "a live message overtook AUTH_OK")

        replay.complete(
            with: .success(
                Fixtures.plan(pushes: [
                    ReplayPlan.Push(seq: 2, kind: .user, ackRequired: true, payload: Fixtures.buffer("stored-2")),
                    ReplayPlan.Push(seq: 3, kind: .user, ackRequired: true, payload: Fixtures.buffer("stored-3")),
                    ReplayPlan.Push(seq: 7, kind: .broadcast, ackRequired: false, payload: Fixtures.buffer("b7")),
                ])
            )
        )
        harness.loop.run()
        let messages = try harness.output(channel)
        guard case .authOK(1, let ok) = messages.first else {
            Issue.record("first frame is not AUTH_OK: \(messages)")
            return
        }
        #expect(ok.session == 1)
        let pushes = Self.pushes(messages)
        #expect(pushes.map(\.text) == ["stored-2", "stored-3", "b7", "live-4", "qos0"])
        #expect(pushes.map(\.seq) == [2, 3, 7, 4, 0])
        #expect(pushes.map(\.ack) == [true, true, false, true, false])

        // Now open: live messages go straight out.
        #expect(shard.sendStored(app: "demo", deliveries: [UserSequence(user: "alice", seq: 5)], payload: Fixtures.buffer("live-5")) == 1)
        harness.loop.run()
        #expect(Self.pushes(try harness.output(channel)).map(\.seq) == [5])
        _ = try channel.finish()
    }

    @Test func aFailedReplayUnindexesTheSession() throws {
        struct StoreDown: Error {}
        let replay = ManualReplay()
        let harness = Harness(replay: replay)
        let channel = try harness.makeChannel()
        try channel.writeInbound(Fixtures.bytes(.auth(seq: 1, AuthRequest(token: Fixtures.token(user: "alice")))))
        #expect(harness.environment.counters.snapshot.sessions == 1)
        #expect(harness.shard.sendToUsers(app: "demo", users: ["alice"], payload: Fixtures.buffer("held")) == 1)
        replay.complete(with: .failure(StoreDown()))
        harness.loop.run()
        let messages = try harness.output(channel)
        #expect(messages.map(\.errorCode) == [.internal])
        #expect(harness.environment.counters.snapshot.sessions == 0)
        #expect(harness.shard.sendToUsers(app: "demo", users: ["alice"], payload: Fixtures.buffer("late")) == 0)
    }

    @Test func aSessionKickedWhileOpeningGetsAuthOKThenGoAway() throws {
        let replay = ManualReplay()
        let harness = Harness(replay: replay)
        let channel = try harness.makeChannel()
        try channel.writeInbound(Fixtures.bytes(.auth(seq: 1, AuthRequest(token: Fixtures.token(user: "alice")))))
        #expect(harness.shard.sendToUsers(app: "demo", users: ["alice"], payload: Fixtures.buffer("held")) == 1)
        #expect(harness.shard.endSessions(app: "demo", user: "alice", device: nil, reason: .kicked) == 1)
        #expect(harness.environment.counters.snapshot.sessions == 0)
        replay.complete(with: .success(Fixtures.plan()))
        harness.loop.run()
        let messages = try harness.output(channel)
        guard messages.count == 2, case .authOK(1, let ok) = messages[0], case .goaway(let goAway) = messages[1] else {
            Issue.record("expected AUTH_OK then GOAWAY, got \(messages)")
            return
        }
        #expect(goAway.session == ok.session)
        #expect(goAway.reason == GoAwayReason.kicked.rawValue)
        #expect(!goAway.reconnect)
        #expect(!channel.isActive)
    }

    @Test func acknowledgementsReachTheCursorWriter() throws {
        let acknowledgements = RecordingAcknowledgements()
        let harness = Harness(acknowledgements: acknowledgements)
        let channel = try harness.makeChannel()
        let ok = try #require(try harness.authenticate(channel, user: "alice", device: "tablet"))
        // The session was sent up to 6: an ACK above what it was sent would be clamped.
        let sent = harness.shard.sendStored(
            app: "demo",
            deliveries: [UserSequence(user: "alice", seq: 6)],
            payload: Fixtures.buffer("m6")
        )
        #expect(sent == 1)
        harness.loop.run()
        #expect(try harness.output(channel).count == 1)
        for seq: UInt32 in [4, 2, 6] {
            try channel.writeInbound(Fixtures.bytes(.ack(seq: seq, AckBody(session: ok.session, kind: .user))))
        }
        #expect(try harness.output(channel).isEmpty, "ACK is never answered")
        let recorded = acknowledgements.recorded.withLockedValue { $0 }
        #expect(recorded.map(\.seq) == [4, 6])
        #expect(recorded.allSatisfy { $0.app == "demo" && $0.user == "alice" && $0.device == "tablet" })
    }

    @Test func aSlowReplayIsNotAnAuthTimeout() throws {
        let replay = ManualReplay()
        let harness = Harness(
            configuration: GatewayConfiguration(nodeID: "test-node", authTimeout: .milliseconds(300)),
            replay: replay
        )
        let channel = try harness.makeChannel()
        try channel.writeInbound(Fixtures.bytes(.auth(seq: 1, AuthRequest(token: Fixtures.token(user: "alice")))))
        // Ten times the auth timeout passes while the store is slow.
        for _ in 0..<30 { harness.shard.tick() }
        #expect(try harness.output(channel).isEmpty)
        #expect(channel.isActive)
        replay.complete(with: .success(Fixtures.plan()))
        harness.loop.run()
        guard case .authOK(1, _) = try harness.output(channel).first else {
            Issue.record("no AUTH_OK after a slow replay")
            return
        }
        // And a connection that never sends AUTH still times out.
        let silent = try harness.makeChannel()
        for _ in 0..<5 { harness.shard.tick() }
        #expect(try harness.output(silent).map(\.errorCode) == [.authTimeout])
    }
}
