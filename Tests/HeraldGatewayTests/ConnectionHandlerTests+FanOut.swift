import HeraldCore
import HeraldWire
import NIOCore
import NIOEmbedded
import Testing

@testable import HeraldGateway

/// The fan-out pass: written a slice at a time, what arrives meanwhile coalesced into the next
/// pass, broadcasts in sequence order, and the API's session counts without the loop.
extension ConnectionHandlerTests {
    static let slicePause = EventLoopShard.defaultSliceLimits.pause

    /// Runs the shard's slices until its fan-out work is done; returns how many it took.
    @discardableResult
    static func finishFanOut(_ harness: Harness) -> Int {
        var slices = 0
        harness.loop.run()
        while harness.shard.hasFanOutWork {
            harness.loop.advanceTime(by: Self.slicePause)
            slices += 1
            if slices > 10_000 {
                Issue.record("the fan-out does not end")
                break
            }
        }
        return slices
    }

    /// Each write the channel got, as the pushes in it.
    static func writes(_ channel: EmbeddedChannel) throws -> [[(seq: UInt32, ack: Bool, kind: PushKind, text: String)]] {
        var writes: [[(seq: UInt32, ack: Bool, kind: PushKind, text: String)]] = []
        while var buffer = try channel.readOutbound(as: ByteBuffer.self) {
            writes.append(Self.pushes(try Fixtures.serverMessages(in: &buffer)))
        }
        return writes
    }

    @Test func aPassIsWrittenInSlicesAndWhatArrivesMeanwhileGoesOutInOneWriteNext() throws {
        let harness = Harness(configuration: GatewayConfiguration(nodeID: "test-node", fanOutSliceConnections: 2))
        let channels = try (0..<5).map { index in
            let channel = try harness.makeChannel()
            _ = try #require(try harness.authenticate(channel, user: "user-\(index)"))
            return channel
        }
        #expect(harness.shard.broadcastOnLoop(app: "demo", seq: 1, payload: Fixtures.buffer("b1")) == 5)
        harness.loop.run()
        var reached = try channels.map { try Self.writes($0) }
        #expect(reached.filter { !$0.isEmpty }.count == 2, "the first slice writes two connections")

        // Two more arrive while the first pass is under way.
        #expect(harness.shard.broadcastOnLoop(app: "demo", seq: 2, payload: Fixtures.buffer("b2")) == 5)
        #expect(harness.shard.broadcastOnLoop(app: "demo", seq: 3, payload: Fixtures.buffer("b3")) == 5)
        let slices = Self.finishFanOut(harness)
        #expect(slices >= 4)
        for (index, channel) in channels.enumerated() {
            reached[index].append(contentsOf: try Self.writes(channel))
            #expect(reached[index].map { $0.map(\.text) } == [["b1"], ["b2", "b3"]], "connection \(index)")
        }
        let stats = harness.environment.counters.snapshot
        #expect(stats.fanOutPasses == 2)
        #expect(stats.fanOutSlices >= 5)
        #expect(stats.longestFanOutSliceNanoseconds > 0)
    }

    @Test func aSessionOpenedDuringAPassWaitsForTheNextAndLateBroadcastsAreLeftOut() throws {
        let harness = Harness(configuration: GatewayConfiguration(nodeID: "test-node", fanOutSliceConnections: 1))
        var channels = try (0..<3).map { index in
            let channel = try harness.makeChannel()
            _ = try #require(try harness.authenticate(channel, user: "user-\(index)"))
            return channel
        }
        #expect(harness.shard.broadcastOnLoop(app: "demo", seq: 5, payload: Fixtures.buffer("b5")) == 3)
        harness.loop.run()
        // Opens after the pass began: not in its snapshot.
        let late = try harness.makeChannel()
        _ = try #require(try harness.authenticate(late, user: "late"))
        channels.append(late)
        Self.finishFanOut(harness)
        #expect(harness.shard.broadcastOnLoop(app: "demo", seq: 6, payload: Fixtures.buffer("b6")) == 4)
        Self.finishFanOut(harness)
        // Numbered before 6 but arriving after it: every session already has 6.
        #expect(harness.shard.broadcastOnLoop(app: "demo", seq: 4, payload: Fixtures.buffer("b4")) == 4)
        Self.finishFanOut(harness)
        for (index, channel) in channels.enumerated() {
            let seqs = try Self.writes(channel).flatMap { $0.map(\.seq) }
            #expect(seqs == (index == 3 ? [6] : [5, 6]), "connection \(index)")
        }
    }

    @Test func theAPICountsSessionsAndSubscribersWithoutTheLoop() throws {
        let harness = Harness()
        let alice = try harness.makeChannel()
        let bob = try harness.makeChannel()
        _ = try #require(try harness.authenticate(alice, user: "alice"))
        _ = try #require(try harness.authenticate(bob, user: "bob"))
        try bob.writeInbound(Fixtures.bytes(.subscribe(seq: 2, TopicsRequest(session: 1, topics: ["news", "news"]))))
        try alice.writeInbound(Fixtures.bytes(.subscribe(seq: 2, TopicsRequest(session: 1, topics: ["news"]))))
        let shard = harness.shard
        #expect(shard.countSessions(app: "demo") == 2)
        #expect(shard.countSessions(app: "demo", users: ["alice", "bob", "alice", "carol"]) == 2)
        #expect(shard.countSessions(app: "demo", deliveries: [UserSequence(user: "bob", seq: 3)]) == 1)
        #expect(shard.countSubscribers(app: "demo", topic: "news") == 2)
        try alice.writeInbound(Fixtures.bytes(.unsubscribe(seq: 3, TopicsRequest(session: 1, topics: ["news"]))))
        #expect(shard.countSubscribers(app: "demo", topic: "news") == 1)
        #expect(harness.shard.publishOnLoop(app: "demo", topic: "news", payload: Fixtures.buffer("t")) == 1)
        _ = try bob.finish()
        #expect(shard.countSessions(app: "demo") == 1)
        #expect(shard.countSessions(app: "demo", users: ["bob"]) == 0)
        #expect(shard.countSubscribers(app: "demo", topic: "news") == 0)
        #expect(harness.shard.publishOnLoop(app: "demo", topic: "news", payload: Fixtures.buffer("t")) == 0)
        #expect(harness.shard.broadcastOnLoop(app: "other", seq: 1, payload: Fixtures.buffer("b")) == 0)
    }

    @Test func aBroadcastTheReplayCarriedIsNotWrittenAgain() throws {
        let replay = ManualReplay()
        let harness = Harness(replay: replay)
        let channel = try harness.makeChannel()
        try channel.writeInbound(Fixtures.bytes(.auth(seq: 1, AuthRequest(token: Fixtures.token(user: "alice")))))
        replay.complete(
            with: .success(
                Fixtures.plan(pushes: [
                    ReplayPlan.Push(seq: 7, kind: .broadcast, ackRequired: false, payload: Fixtures.buffer("b7"))
                ])
            )
        )
        harness.loop.run()
        #expect(Self.pushes(try harness.output(channel)).map(\.seq) == [7])
        // Queued by an API call that raced the replay's read.
        _ = harness.shard.broadcastOnLoop(app: "demo", seq: 7, payload: Fixtures.buffer("b7"))
        _ = harness.shard.broadcastOnLoop(app: "demo", seq: 8, payload: Fixtures.buffer("b8"))
        Self.finishFanOut(harness)
        #expect(Self.pushes(try harness.output(channel)).map(\.seq) == [8])
    }
}
