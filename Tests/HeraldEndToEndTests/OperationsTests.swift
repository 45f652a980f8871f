import HeraldTestUtils
import HeraldWire
import NIOCore
import Testing

/// Every client operation against the real binary, over TCP and WebSocket.
@Suite("Operations", .sharedServer, .timeLimit(.minutes(1)))
struct OperationsTests {
    @Test("AUTH answers AUTH_OK with every field", arguments: Transport.allCases)
    func authOK(transport: Transport) async throws {
        let harness = try await Harness.make()
        let client = try await harness.connect(transport)
        let ok = try await client.auth(token: try await harness.token(user: "alice"), seq: 7)
        #expect(ok.session == 1)
        #expect(ok.app == harness.app.id)
        #expect(ok.user == "alice")
        #expect(ok.device == "default")
        #expect(ok.heartbeat == 30)
        #expect(ok.node == harness.server.node)
        #expect(!ok.epoch.isEmpty)
        #expect(ok.recovered == AuthOK.Recovered(inbox: true, broadcast: true))
    }

    @Test("AUTH_OK carries the token's device", arguments: Transport.allCases)
    func authOKDevice(transport: Transport) async throws {
        let harness = try await Harness.start(["--heartbeat", "7"])
        let (_, ok) = try await harness.connectAndAuth(transport, user: "alice", device: "phone-1")
        #expect(ok.device == "phone-1")
        #expect(ok.heartbeat == 7)
    }

    @Test("PING is answered with PONG echoing seq, before and after AUTH", arguments: Transport.allCases)
    func pingPong(transport: Transport) async throws {
        let harness = try await Harness.make()
        let client = try await harness.connect(transport)
        try await client.ping(seq: 42)
        try await client.ping(seq: 0)
        try await client.ping(seq: UInt32.max)
        try await client.auth(token: try await harness.token(user: "alice"))
        try await client.ping(seq: 43)
    }

    @Test("a QoS 0 user message arrives as PUSH kind 0 seq 0 with the exact payload", arguments: Transport.allCases)
    func userMessage(transport: Transport) async throws {
        let harness = try await Harness.make()
        let (client, ok) = try await harness.connectAndAuth(transport, user: "alice")

        let text = Payload.text("héllo, wörld 🌍 {\"json\": true}")
        let result = try await harness.api.push(harness.app, users: ["alice"], payload: text)
        #expect(result.sessions == 1)
        let push = try await client.receivePush()
        #expect(push.seq == 0)
        #expect(push.flags == [])
        #expect(push.body.session == ok.session)
        #expect(push.body.kind == .user)
        #expect(push.body.topic == "")
        #expect(push.body.payloadBytes == text.bytes)

        let binary = Payload.bytes((0...255).map { UInt8($0) } + [0, 0, 255])
        #expect(try await harness.api.push(harness.app, users: ["alice"], payload: binary).sessions == 1)
        let second = try await client.receivePush()
        #expect(second.seq == 0)
        #expect(second.body.kind == .user)
        #expect(second.body.payloadBytes == binary.bytes)
    }

    @Test("/metrics has how long each hand-over of user messages waited for its event loop")
    func handOverWaitMetric() async throws {
        let harness = try await Harness.start([])
        let (client, _) = try await harness.connectAndAuth(.tcp, user: "alice")
        for index in 0..<3 {
            _ = try await harness.api.push(harness.app, users: ["alice"], payload: .text("m\(index)"))
            _ = try await client.receivePush()
        }
        let metrics = String(decoding: try await harness.api.request("GET", "/metrics").body, as: UTF8.self)
        let count = metrics.split(separator: "\n").first { $0.hasPrefix("herald_handover_wait_seconds_count") }
        let value = count?.split(separator: " ").last.flatMap { Double($0) }
        #expect((value ?? 0) >= 3, "\(metrics)")
        // Buckets under a millisecond: a healthy hand-over is not lumped into "under 5 ms".
        #expect(metrics.contains(#"herald_handover_wait_seconds_bucket{le="0.0001"}"#), "\(metrics)")
        #expect(metrics.contains(#"herald_handover_wait_seconds_bucket{le="0.001"}"#))
        #expect(metrics.contains(#"herald_fanout_slice_seconds_bucket{le="0.0005"}"#))
    }

    @Test("a user message reaches only that user", arguments: Transport.allCases)
    func userMessageIsTargeted(transport: Transport) async throws {
        let harness = try await Harness.make()
        let (alice, _) = try await harness.connectAndAuth(transport, user: "alice")
        let (bob, _) = try await harness.connectAndAuth(transport, user: "bob")
        #expect(try await harness.api.push(harness.app, users: ["bob"], payload: .text("for bob")).sessions == 1)
        #expect(try await bob.receivePush().body.payloadBytes == Array("for bob".utf8))
        // Alice's next frame must be her own message, not bob's.
        #expect(try await harness.api.push(harness.app, users: ["alice"], payload: .text("for alice")).sessions == 1)
        #expect(try await alice.receivePush().body.payloadBytes == Array("for alice".utf8))
    }

    @Test("broadcasts arrive as PUSH kind 1 with sequences 1, 2, 3", arguments: Transport.allCases)
    func broadcasts(transport: Transport) async throws {
        let harness = try await Harness.make()
        let (alice, _) = try await harness.connectAndAuth(transport, user: "alice")
        let (bob, _) = try await harness.connectAndAuth(transport, user: "bob")
        for index in 1...3 {
            let result = try await harness.api.broadcast(harness.app, payload: .text("news \(index)"))
            #expect(result.seq == index)
            #expect(result.sessions == 2)
        }
        for client in [alice, bob] {
            for index in 1...3 {
                let push = try await client.receivePush()
                #expect(push.seq == UInt32(index))
                #expect(push.flags == [], "broadcasts never carry ACK_REQUIRED")
                #expect(push.body.session == 1)
                #expect(push.body.kind == .broadcast)
                #expect(push.body.topic == "")
                #expect(push.body.payloadBytes == Array("news \(index)".utf8))
            }
        }
    }

    @Test("SUBSCRIBE, topic message, UNSUBSCRIBE", arguments: Transport.allCases)
    func topics(transport: Transport) async throws {
        let harness = try await Harness.make()
        let (client, _) = try await harness.connectAndAuth(transport, user: "alice")

        try await client.send(.subscribe(seq: 5, TopicsRequest(session: 1, topics: ["news", "scores"])))
        #expect(try await client.receive() == .ok(seq: 5))

        #expect(try await harness.api.publish(harness.app, topic: "news", payload: .text("n1")) == 1)
        let push = try await client.receivePush()
        #expect(push.seq == 0)
        #expect(push.body.session == 1)
        #expect(push.body.kind == .topic)
        #expect(push.body.topic == "news")
        #expect(push.body.payloadBytes == Array("n1".utf8))

        // A topic nobody subscribed to reaches nobody.
        #expect(try await harness.api.publish(harness.app, topic: "weather", payload: .text("w")) == 0)

        try await client.send(.unsubscribe(seq: 6, TopicsRequest(session: 1, topics: ["news"])))
        #expect(try await client.receive() == .ok(seq: 6))
        #expect(try await harness.api.publish(harness.app, topic: "news", payload: .text("n2")) == 0)
        // Still subscribed to "scores": this message must be the very next frame, which
        // proves that neither "n2" nor "w" was delivered, without a sleep.
        #expect(try await harness.api.publish(harness.app, topic: "scores", payload: .text("s1")) == 1)
        let scores = try await client.receivePush()
        #expect(scores.body.topic == "scores")
        #expect(scores.body.payloadBytes == Array("s1".utf8))
    }

    @Test("ACK is accepted without an answer", arguments: Transport.allCases)
    func ack(transport: Transport) async throws {
        let harness = try await Harness.make()
        let (client, _) = try await harness.connectAndAuth(transport, user: "alice")
        try await client.send(.ack(seq: 0, AckBody(session: 1, kind: .user)))
        try await client.send(.ack(seq: 3, AckBody(session: 1, kind: .broadcast)))
        // The PONG must be the next frame: no ERROR came for the ACKs.
        try await client.ping(seq: 9)
    }

    @Test("UPSTREAM without a backend is ERROR upstream_unavailable; the connection stays", arguments: Transport.allCases)
    func upstreamUnavailable(transport: Transport) async throws {
        let harness = try await Harness.make()
        let (client, _) = try await harness.connectAndAuth(transport, user: "alice")
        try await client.send(.upstream(seq: 11, UpstreamBody(session: 1, payload: ByteBuffer(string: "up"))))
        let error = try await client.receiveError()
        #expect(error.seq == 11)
        #expect(error.body.code == ErrorCode.upstreamUnavailable.rawValue)
        #expect(!error.body.message.isEmpty)
        try await client.ping(seq: 12)
        #expect(try await harness.api.push(harness.app, users: ["alice"], payload: .text("still here")).sessions == 1)
        #expect(try await client.receivePush().body.payloadBytes == Array("still here".utf8))
    }

    @Test("two AUTHs on one connection open sessions 1 and 2", arguments: Transport.allCases)
    func multiSession(transport: Transport) async throws {
        let harness = try await Harness.make()
        let otherApp = try await harness.api.createApp(prefix: "other")
        let client = try await harness.connect(transport)
        let alice = try await client.auth(token: try await harness.token(user: "alice"), seq: 1)
        let bob = try await client.auth(token: try await harness.token(user: "bob"), seq: 2)
        let carol = try await client.auth(token: try await harness.api.token(otherApp, user: "carol"), seq: 3)
        #expect(alice.session == 1)
        #expect(bob.session == 2)
        #expect(carol.session == 3)
        #expect(carol.app == otherApp.id)

        #expect(try await harness.api.push(harness.app, users: ["bob"], payload: .text("to bob")).sessions == 1)
        let toBob = try await client.receivePush()
        #expect(toBob.body.session == 2)
        #expect(toBob.body.payloadBytes == Array("to bob".utf8))

        #expect(try await harness.api.push(harness.app, users: ["alice"], payload: .text("to alice")).sessions == 1)
        let toAlice = try await client.receivePush()
        #expect(toAlice.body.session == 1)
        #expect(toAlice.body.payloadBytes == Array("to alice".utf8))

        #expect(try await harness.api.push(otherApp, users: ["carol"], payload: .text("to carol")).sessions == 1)
        let toCarol = try await client.receivePush()
        #expect(toCarol.body.session == 3)

        // A broadcast of the first app reaches both of its sessions on this connection, not carol's.
        #expect(try await harness.api.broadcast(harness.app, payload: .text("all")).sessions == 2)
        let first = try await client.receivePush()
        let second = try await client.receivePush()
        #expect(Set([first.body.session, second.body.session]) == [1, 2])
        #expect(first.body.kind == .broadcast && second.body.kind == .broadcast)
        try await client.ping(seq: 99)
    }
}
