import Foundation
import HeraldCore
import HeraldTesting
import HeraldWire
import Logging
import NIOCore
import NIOEmbedded
import Testing

@testable import HeraldGateway

/// The TCP connection handler over an `EmbeddedChannel`. Synchronous tests: the embedded
/// loop belongs to the thread that made it.
@Suite struct ConnectionHandlerTests {
    final class Harness {
        let loop = EmbeddedEventLoop()
        let environment: GatewayEnvironment
        let directory = LocalSessionDirectory()
        var shard: EventLoopShard { self.environment.shards[0] }

        init(
            configuration: GatewayConfiguration = GatewayConfiguration(nodeID: "test-node"),
            replay: any ReplayProvider = LiveOnlyReplay(),
            acknowledgements: (any AcknowledgementSink)? = nil
        ) {
            self.environment = GatewayEnvironment(
                configuration: configuration,
                eventLoops: [self.loop],
                apps: AppRegistry([Fixtures.app, Fixtures.otherApp]),
                observer: self.directory,
                replay: replay,
                acknowledgements: acknowledgements,
                logger: Logger(label: "test")
            )
        }

        func makeChannel(framing: ConnectionHandler.Framing = .stream) throws -> EmbeddedChannel {
            let channel = EmbeddedChannel(
                handler: ConnectionHandler(framing: framing, environment: self.environment, shard: self.shard),
                loop: self.loop
            )
            try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
            return channel
        }

        /// Every server message written so far (on WebSocket, the frames in its messages).
        func output(_ channel: EmbeddedChannel, framing: ConnectionHandler.Framing = .stream) throws -> [ServerMessage] {
            var all = ByteBuffer()
            switch framing {
            case .stream:
                while var buffer = try channel.readOutbound(as: ByteBuffer.self) {
                    all.writeBuffer(&buffer)
                }
            case .messages:
                for var message in try Self.webSocketMessages(channel) {
                    all.writeBuffer(&message)
                }
            }
            let messages = try Fixtures.serverMessages(in: &all)
            #expect(all.readableBytes == 0, "partial frame written")
            return messages
        }

        /// The binary messages a `.messages` channel wrote, one per frame, unpacking framed
        /// batches; records an issue for anything but a final binary message.
        static func webSocketMessages(_ channel: EmbeddedChannel) throws -> [ByteBuffer] {
            var messages: [ByteBuffer] = []
            while let outbound = try channel.readOutbound(as: WebSocketFrameCodec.Outbound.self) {
                switch outbound {
                case .message(let message):
                    messages.append(message)
                case .framed(var framed):
                    while let (first, short) = framed.readMultipleIntegers(as: (UInt8, UInt8).self) {
                        #expect(first == 0x82 && short & 0x80 == 0, "a final, unmasked binary message")
                        let length: Int
                        switch short {
                        case 126: length = Int(framed.readInteger(as: UInt16.self) ?? 0)
                        case 127: length = Int(framed.readInteger(as: UInt64.self) ?? 0)
                        default: length = Int(short)
                        }
                        guard let message = framed.readSlice(length: length) else {
                            Issue.record("a framed message is cut short")
                            return messages
                        }
                        messages.append(message)
                    }
                }
            }
            return messages
        }

        func authenticate(
            _ channel: EmbeddedChannel,
            user: String = "alice",
            device: String = "phone",
            seq: UInt32 = 1,
            framing: ConnectionHandler.Framing = .stream
        ) throws -> AuthOK? {
            try channel.writeInbound(
                Fixtures.bytes(.auth(seq: seq, AuthRequest(token: Fixtures.token(user: user, device: device))))
            )
            for message in try self.output(channel, framing: framing) {
                if case .authOK(_, let ok) = message { return ok }
            }
            return nil
        }
    }

    @Test func authPingAndSubscribeOverTCP() throws {
        let harness = Harness()
        let channel = try harness.makeChannel()
        let ok = try #require(try harness.authenticate(channel))
        #expect(ok.session == 1)
        #expect(ok.node == "test-node")
        #expect(ok.epoch == "epoch-1")
        #expect(ok.heartbeat == 30)
        #expect(harness.environment.counters.snapshot.sessions == 1)
        try channel.writeInbound(Fixtures.bytes(.ping(seq: 42)))
        try channel.writeInbound(Fixtures.bytes(.subscribe(seq: 43, TopicsRequest(session: 1, topics: ["news"]))))
        #expect(try harness.output(channel) == [.pong(seq: 42), .ok(seq: 43)])
        _ = try channel.finish()
        #expect(harness.environment.counters.snapshot == GatewayStats())
    }

    @Test func framesSplitAtEveryByteBoundary() throws {
        var stream = Fixtures.bytes(.auth(seq: 7, AuthRequest(token: Fixtures.token())))
        var ping = Fixtures.bytes(.ping(seq: 8))
        stream.writeBuffer(&ping)
        let bytes = Array(stream.readableBytesView)
        for split in 1..<bytes.count {
            let harness = Harness()
            let channel = try harness.makeChannel()
            try channel.writeInbound(ByteBuffer(bytes: bytes[..<split]))
            try channel.writeInbound(ByteBuffer(bytes: bytes[split...]))
            let messages = try harness.output(channel)
            #expect(messages.count == 2, "split at \(split)")
            guard messages.count == 2, case .authOK(7, _) = messages[0] else {
                Issue.record("split at \(split): \(messages)")
                return
            }
            #expect(messages[1] == .pong(seq: 8))
            _ = try channel.finish()
        }
    }

    @Test func oneByteAtATime() throws {
        let harness = Harness()
        let channel = try harness.makeChannel()
        let stream = Fixtures.bytes(.ping(seq: 1))
        for byte in stream.readableBytesView {
            try channel.writeInbound(ByteBuffer(bytes: [byte]))
        }
        #expect(try harness.output(channel) == [.pong(seq: 1)])
    }

    @Test func garbageGetsErrorThenClose() throws {
        let harness = Harness()
        let channel = try harness.makeChannel()
        // Length 4 is below the minimum of 8.
        try channel.writeInbound(ByteBuffer(bytes: [0, 0, 0, 4, 1, 4, 0, 0]))
        let messages = try harness.output(channel)
        #expect(messages.map(\.errorCode) == [.badFrame])
        #expect(!channel.isActive)
    }

    @Test func unknownVersionAndOversizedFrames() throws {
        let harness = Harness()
        let channel = try harness.makeChannel()
        try channel.writeInbound(ByteBuffer(bytes: [0, 0, 0, 8, 2]))
        #expect(try harness.output(channel).map(\.errorCode) == [.unsupportedVersion])
        #expect(!channel.isActive)

        let big = try harness.makeChannel()
        try big.writeInbound(ByteBuffer(bytes: [0, 0x10, 0, 0]))
        #expect(try harness.output(big).map(\.errorCode) == [.frameTooLarge])
        #expect(!big.isActive)
    }

    @Test func serverOpFromClientIsUnknownOpWithSeq() throws {
        let harness = Harness()
        let channel = try harness.makeChannel()
        var buffer = ByteBuffer()
        buffer.writeFrame(Frame(op: .pong, seq: 99))
        try channel.writeInbound(buffer)
        let messages = try harness.output(channel)
        guard case .error(let seq, let body) = try #require(messages.first) else {
            Issue.record("no ERROR")
            return
        }
        #expect(seq == 99)
        #expect(body.errorCode == .unknownOp)
        #expect(!channel.isActive)
    }

    @Test func subscribeBeforeAuthIsAuthRequired() throws {
        let harness = Harness()
        let channel = try harness.makeChannel()
        try channel.writeInbound(Fixtures.bytes(.subscribe(seq: 3, TopicsRequest(session: 1, topics: ["a"]))))
        #expect(try harness.output(channel).map(\.errorCode) == [.authRequired])
        #expect(!channel.isActive)
    }

    @Test func badTokenOnFreshConnectionCloses() throws {
        let harness = Harness()
        let channel = try harness.makeChannel()
        try channel.writeInbound(Fixtures.bytes(.auth(seq: 2, AuthRequest(token: "not.a.jwt"))))
        #expect(try harness.output(channel).map(\.errorCode) == [.authFailed])
        #expect(!channel.isActive)
    }

    @Test func expiredTokenOnSessionedConnectionStaysOpen() throws {
        let harness = Harness()
        let channel = try harness.makeChannel()
        _ = try #require(try harness.authenticate(channel))
        try channel.writeInbound(
            Fixtures.bytes(.auth(seq: 2, AuthRequest(token: Fixtures.token(user: "bob", expiresIn: -10))))
        )
        #expect(try harness.output(channel).map(\.errorCode) == [.tokenExpired])
        #expect(channel.isActive)
    }

    @Test func authTimeoutWithTheWheel() throws {
        let harness = Harness(
            configuration: GatewayConfiguration(authTimeout: .seconds(1), timerTick: .milliseconds(100))
        )
        harness.shard.start()
        let channel = try harness.makeChannel()
        harness.loop.advanceTime(by: .milliseconds(900))
        #expect(try harness.output(channel).isEmpty)
        #expect(channel.isActive)
        harness.loop.advanceTime(by: .milliseconds(200))
        #expect(try harness.output(channel).map(\.errorCode) == [.authTimeout])
        #expect(!channel.isActive)
        harness.shard.stop()
    }

    @Test func idleTimeoutClosesWithoutAFrame() throws {
        let harness = Harness(configuration: GatewayConfiguration(heartbeat: 1, timerTick: .milliseconds(100)))
        harness.shard.start()
        let channel = try harness.makeChannel()
        _ = try #require(try harness.authenticate(channel))
        // Idle timeout: 2 × 1 + 10 = 12 s. Activity at 8 s pushes it out.
        harness.loop.advanceTime(by: .seconds(8))
        try channel.writeInbound(Fixtures.bytes(.ping(seq: 1)))
        #expect(try harness.output(channel) == [.pong(seq: 1)])
        harness.loop.advanceTime(by: .seconds(11))
        #expect(channel.isActive)
        harness.loop.advanceTime(by: .seconds(2))
        #expect(!channel.isActive)
        #expect(try harness.output(channel).isEmpty)
        harness.shard.stop()
    }

    @Test func replaceAcrossConnections() throws {
        let harness = Harness()
        let first = try harness.makeChannel()
        let second = try harness.makeChannel()
        _ = try #require(try harness.authenticate(first))
        _ = try #require(try harness.authenticate(second))
        harness.loop.run()
        let old = try harness.output(first)
        #expect(old == [.goaway(GoAway(session: 1, reason: .replaced, reconnect: false))])
        #expect(!first.isActive)
        #expect(second.isActive)
        #expect(harness.environment.counters.snapshot.sessions == 1)
    }

    @Test func replaceOnTheSameConnectionKeepsItOpen() throws {
        let harness = Harness()
        let channel = try harness.makeChannel()
        _ = try #require(try harness.authenticate(channel, seq: 1))
        try channel.writeInbound(Fixtures.bytes(.auth(seq: 2, AuthRequest(token: Fixtures.token()))))
        let messages = try harness.output(channel)
        #expect(messages.count == 2)
        if case .authOK(2, let ok) = messages.first { #expect(ok.session == 2) } else { Issue.record("\(messages)") }
        #expect(messages.last == .goaway(GoAway(session: 1, reason: .replaced, reconnect: false)))
        #expect(channel.isActive)
        #expect(harness.environment.counters.snapshot.sessions == 1)
    }

    @Test func deliveryWritesOncePerSessionAndFlushesAtTheEndOfTheTick() throws {
        let harness = Harness()
        let alice = try harness.makeChannel()
        let bob = try harness.makeChannel()
        _ = try #require(try harness.authenticate(alice, user: "alice"))
        _ = try #require(try harness.authenticate(bob, user: "bob"))
        try bob.writeInbound(Fixtures.bytes(.subscribe(seq: 5, TopicsRequest(session: 1, topics: ["news"]))))
        _ = try harness.output(bob)

        let payload = ByteBuffer(string: "hello")
        #expect(harness.shard.sendToUsers(app: "demo", users: ["alice", "alice", "carol"], payload: payload) == 1)
        #expect(harness.shard.broadcastOnLoop(app: "demo", seq: 12, payload: payload) == 2)
        #expect(harness.shard.publishOnLoop(app: "demo", topic: "news", payload: payload) == 1)
        #expect(harness.shard.broadcastOnLoop(app: "other", seq: 1, payload: payload) == 0)
        // Nothing is flushed before the loop's flush pass.
        #expect(try harness.output(alice).isEmpty)
        harness.loop.run()
        #expect(
            try harness.output(alice) == [
                .push(seq: 0, flags: [], PushBody(session: 1, kind: .user, payload: payload)),
                .push(seq: 12, flags: [], PushBody(session: 1, kind: .broadcast, payload: payload)),
            ]
        )
        #expect(
            try harness.output(bob) == [
                .push(seq: 12, flags: [], PushBody(session: 1, kind: .broadcast, payload: payload)),
                .push(seq: 0, flags: [], PushBody(session: 1, kind: .topic, topic: "news", payload: payload)),
            ]
        )
        try bob.writeInbound(Fixtures.bytes(.unsubscribe(seq: 6, TopicsRequest(session: 1, topics: ["news"]))))
        #expect(try harness.output(bob) == [.ok(seq: 6)])
        #expect(harness.shard.publishOnLoop(app: "demo", topic: "news", payload: payload) == 0)
    }

    @Test func aBatchOfUserMessagesIsWrittenInOrderWithEachOnesSessionCount() throws {
        let harness = Harness()
        let alice = try harness.makeChannel()
        _ = try #require(try harness.authenticate(alice, user: "alice"))
        let sessions = harness.shard.sendUserMessages(
            app: "demo",
            [
                .live(users: ["alice", "carol"], payload: ByteBuffer(string: "one")),
                .stored(deliveries: [UserSequence(user: "alice", seq: 4)], payload: ByteBuffer(string: "two")),
                .live(users: ["carol"], payload: ByteBuffer(string: "three")),
                .live(users: ["alice"], payload: ByteBuffer(string: "four")),
            ]
        )
        #expect(sessions == [1, 1, 0, 1])
        harness.loop.run()
        let pushes = Self.pushes(try harness.output(alice))
        #expect(pushes.map(\.text) == ["one", "two", "four"])
        #expect(pushes.map(\.seq) == [0, 4, 0])
        #expect(pushes.map(\.ack) == [false, true, false])
    }

    @Test func queuedFanOutGoesOutInOneWritePerConnectionInSequenceOrder() throws {
        let harness = Harness()
        let tcp = try harness.makeChannel()
        let webSocket = try harness.makeChannel(framing: .messages)
        _ = try #require(try harness.authenticate(tcp, user: "alice"))
        _ = try #require(try harness.authenticate(webSocket, user: "bob", framing: .messages))

        // Concurrent API calls can reach the shard out of sequence order.
        for seq: UInt32 in [9, 7, 8] {
            #expect(harness.shard.broadcastOnLoop(app: "demo", seq: seq, payload: ByteBuffer(string: "b\(seq)")) == 2)
        }
        harness.loop.run()

        var tcpWrites: [ByteBuffer] = []
        while let buffer = try tcp.readOutbound(as: ByteBuffer.self) { tcpWrites.append(buffer) }
        #expect(tcpWrites.count == 1, "one write for all three")
        var all = tcpWrites.first ?? ByteBuffer()
        let tcpPushes = Self.pushes(try Fixtures.serverMessages(in: &all))
        #expect(tcpPushes.map(\.seq) == [7, 8, 9])
        #expect(tcpPushes.map(\.text) == ["b7", "b8", "b9"])

        // WebSocket: one write too, framed once for the pass, one message per frame.
        var frames: [[ServerMessage]] = []
        for var message in try Harness.webSocketMessages(webSocket) {
            frames.append(try Fixtures.serverMessages(in: &message))
        }
        #expect(frames.map(\.count) == [1, 1, 1])
        #expect(Self.pushes(frames.flatMap { $0 }).map(\.seq) == [7, 8, 9])
    }

    @Test func kickEndsTheSessionAndTheConnection() throws {
        let harness = Harness()
        let channel = try harness.makeChannel()
        _ = try #require(try harness.authenticate(channel))
        #expect(harness.shard.endSessions(app: "demo", user: "alice", device: "tablet", reason: .kicked) == 0)
        #expect(harness.shard.endSessions(app: "demo", user: "alice", device: nil, reason: .kicked) == 1)
        harness.loop.run()
        #expect(try harness.output(channel) == [.goaway(GoAway(session: 1, reason: .kicked, reconnect: false))])
        #expect(!channel.isActive)
        #expect(harness.environment.counters.snapshot.sessions == 0)
    }

    @Test func drainSendsGoAwayAndCloses() throws {
        let harness = Harness()
        let channel = try harness.makeChannel()
        _ = try #require(try harness.authenticate(channel))
        let closes = harness.shard.drain(retryAfterMs: 750)
        #expect(closes.count == 1)
        #expect(
            try harness.output(channel) == [
                .goaway(GoAway(session: 0, reason: .draining, reconnect: true, retryAfterMs: 750))
            ]
        )
        #expect(!channel.isActive)
    }

    @Test func connectionCapRefusesWithServerBusy() throws {
        let harness = Harness(configuration: GatewayConfiguration(maxConnections: 1))
        let first = try harness.makeChannel()
        let second = try harness.makeChannel()
        #expect(try harness.output(second).map(\.errorCode) == [.serverBusy])
        #expect(!second.isActive)
        #expect(first.isActive)
        #expect(harness.environment.counters.snapshot.refusedConnections == 1)
        #expect(harness.environment.counters.snapshot.connections == 1)
    }

    @Test func slowConsumerIsClosedAndCounted() throws {
        let harness = Harness()
        let channel = try harness.makeChannel()
        _ = try #require(try harness.authenticate(channel))
        channel.isWritable = false
        channel.pipeline.fireChannelWritabilityChanged()
        #expect(!channel.isActive)
        #expect(harness.environment.counters.snapshot.slowConsumersClosed == 1)
    }

    @Test func webSocketFramingNeedsExactlyOneFrame() throws {
        let harness = Harness()
        let channel = try harness.makeChannel(framing: .messages)
        var two = Fixtures.bytes(.ping(seq: 1))
        var second = Fixtures.bytes(.ping(seq: 2))
        two.writeBuffer(&second)
        try channel.writeInbound(Fixtures.bytes(.ping(seq: 9)))
        #expect(try harness.output(channel, framing: .messages) == [.pong(seq: 9)])
        try channel.writeInbound(two)
        #expect(try harness.output(channel, framing: .messages).map(\.errorCode) == [.badFrame])
        #expect(!channel.isActive)
    }
}
