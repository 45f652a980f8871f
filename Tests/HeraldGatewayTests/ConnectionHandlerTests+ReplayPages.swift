import HeraldCore
import HeraldWire
import NIOCore
import NIOEmbedded
import Testing

@testable import HeraldGateway

/// A replay larger than a page goes out a page at a time, each after the last has gone to the
/// socket; live messages wait for the last page, and so does a further AUTH.
extension ConnectionHandlerTests {
    /// A connection whose writes wait at a gate.
    static func gatedChannel(_ harness: Harness) throws -> (EmbeddedChannel, WriteGate) {
        let gate = WriteGate()
        let channel = EmbeddedChannel(loop: harness.loop)
        try channel.pipeline.syncOperations.addHandler(gate)
        try channel.pipeline.syncOperations.addHandler(
            ConnectionHandler(framing: .stream, environment: harness.environment, shard: harness.shard)
        )
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        return (channel, gate)
    }

    static func storedPlan(count: Int, payloadBytes: Int) -> ReplayPlan {
        let payload = ByteBuffer(repeating: UInt8(ascii: "x"), count: payloadBytes)
        return Fixtures.plan(
            pushes: (1...count).map { ReplayPlan.Push(seq: UInt32($0), kind: .user, ackRequired: true, payload: payload) }
        )
    }

    @Test func aLargeReplayGoesOutInPagesAsTheSocketDrains() throws {
        let replay = ManualReplay()
        // 16 KiB of outbound room: pages of 4 KiB, four of these 1,012-byte frames and a fifth.
        let harness = Harness(
            configuration: GatewayConfiguration(nodeID: "test-node", maxOutboundBytes: 16 * 1024),
            replay: replay
        )
        #expect(harness.environment.replayPageBytes == 4096)
        let (channel, gate) = try Self.gatedChannel(harness)
        try channel.writeInbound(Fixtures.bytes(.auth(seq: 1, AuthRequest(token: Fixtures.token(user: "alice")))))
        replay.complete(with: .success(Self.storedPlan(count: 40, payloadBytes: 1000)))
        harness.loop.run()
        #expect(gate.heldCount == 1 + 5, "AUTH_OK and the first page")

        // While the replay is written: a live message waits, a PING is answered, and an AUTH
        // for another user waits for the last page.
        // 40 is in the replay too; 41 is not.
        for seq: UInt32 in [41, 40] {
            let written = harness.shard.sendStored(
                app: "demo",
                deliveries: [UserSequence(user: "alice", seq: seq)],
                payload: Fixtures.buffer("live-\(seq)")
            )
            #expect(written == 1)
        }
        try channel.writeInbound(Fixtures.bytes(.ping(seq: 9)))
        try channel.writeInbound(Fixtures.bytes(.auth(seq: 2, AuthRequest(token: Fixtures.token(user: "bob")))))
        #expect(replay.pendingCount == 0, "the second AUTH waits for the replay")

        var messages: [ServerMessage] = []
        var releases = 0
        while gate.heldCount > 0 {
            gate.release()
            harness.loop.run()
            messages.append(contentsOf: try harness.output(channel))
            releases += 1
            #expect(releases < 50)
            if releases >= 50 { break }
        }
        #expect(releases == 8, "40 frames in pages of five")
        guard case .authOK(1, _) = messages.first else {
            Issue.record("AUTH_OK did not come first: \(messages.prefix(2))")
            return
        }
        #expect(messages.contains(.pong(seq: 9)))
        let pushes = Self.pushes(messages)
        #expect(pushes.map(\.seq) == Array(1...41), "the replay in order, then the live message it did not carry")
        #expect(pushes.last?.text == "live-41")
        #expect(channel.isActive)

        // Now the second AUTH.
        #expect(replay.pendingCount == 1)
        replay.complete(with: .success(Fixtures.plan()))
        harness.loop.run()
        gate.release()
        let after = try harness.output(channel)
        guard case .authOK(2, let ok) = after.first else {
            Issue.record("the queued AUTH was not answered: \(after)")
            return
        }
        #expect(ok.user == "bob")
    }

    @Test func aSessionKickedMidReplayGetsNoMorePages() throws {
        let replay = ManualReplay()
        let harness = Harness(
            configuration: GatewayConfiguration(nodeID: "test-node", maxOutboundBytes: 16 * 1024),
            replay: replay
        )
        let (channel, gate) = try Self.gatedChannel(harness)
        try channel.writeInbound(Fixtures.bytes(.auth(seq: 1, AuthRequest(token: Fixtures.token(user: "alice")))))
        replay.complete(with: .success(Self.storedPlan(count: 40, payloadBytes: 1000)))
        harness.loop.run()
        #expect(harness.shard.endSessions(app: "demo", user: "alice", device: nil, reason: .kicked) == 1)
        gate.release()
        harness.loop.run()
        gate.release()
        let messages = try harness.output(channel)
        #expect(Self.pushes(messages).map(\.seq) == [1, 2, 3, 4, 5], "the first page only")
        #expect(messages.last == .goaway(GoAway(session: 1, reason: .kicked, reconnect: false)))
        #expect(!channel.isActive)
    }
}
