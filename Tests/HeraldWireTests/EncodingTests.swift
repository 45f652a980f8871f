import HeraldTestUtils
import HeraldWire
import NIOCore
import Testing

@Suite struct EncodingTests {
    static let pushCases: [(UInt32, FrameFlags, UInt16, PushKind, String, [UInt8])] = [
        (0, [], 1, .user, "", []),
        (17, .ackRequired, 1, .user, "", Array("hello".utf8)),
        (3, [], 2, .broadcast, "", [0x00, 0xFF]),
        (0, [], 0xFFFF, .topic, "news.tech", Array("ünï".utf8)),
        (0xFFFF_FFFF, [], 7, .topic, "😀/é", [UInt8](repeating: 0xAA, count: 1000)),
        (1, [], 1, .topic, String(repeating: "x", count: 255), [1]),
    ]

    @Test func writePushFrameMatchesServerMessage() throws {
        for (seq, flags, session, kind, topic, payload) in Self.pushCases {
            var direct = ByteBuffer()
            let written = direct.writePushFrame(
                seq: seq, flags: flags, session: session, kind: kind, topic: topic, payload: ByteBuffer(bytes: payload)
            )
            let body = PushBody(session: session, kind: kind, topic: topic, payload: ByteBuffer(bytes: payload))
            let message = ServerMessage.push(seq: seq, flags: flags, body)
            var viaMessage = ByteBuffer()
            #expect(message.write(into: &viaMessage) == written)
            #expect(direct == viaMessage)
            #expect(written == 12 + body.encodedLength)

            var bodyOnly = ByteBuffer()
            #expect(body.write(into: &bodyOnly) == body.encodedLength)

            let frame = try #require(try FrameDecoder().next(from: &direct))
            #expect(direct.readableBytes == 0)
            #expect(try ServerMessage(frame) == message)
        }
    }

    @Test func writePushFrameAppendsToExistingBytes() throws {
        var buffer = ByteBuffer(bytes: [1, 2, 3])
        buffer.moveReaderIndex(forwardBy: 3)
        buffer.writePushFrame(seq: 1, session: 1, kind: .broadcast, payload: ByteBuffer(bytes: [9]))
        buffer.writePushFrame(seq: 2, session: 1, kind: .broadcast, payload: ByteBuffer(bytes: [8]))
        let first = try #require(try FrameDecoder().next(from: &buffer))
        let second = try #require(try FrameDecoder().next(from: &buffer))
        #expect(first.seq == 1)
        #expect(second.seq == 2)
        #expect(buffer.readableBytes == 0)
    }

    /// Topics are at most 255 bytes (``Topic`` names are checked before publishing). If a longer one
    /// reaches the encoder anyway, it writes the longest prefix of at most 255 bytes that ends on a
    /// Unicode scalar boundary, so the frame stays well formed: its length field matches its bytes
    /// and its topic is valid UTF-8 that a client can decode.
    @Test(arguments: [
        (String(repeating: "a", count: 300), String(repeating: "a", count: 255)),
        (String(repeating: "a", count: 256), String(repeating: "a", count: 255)),
        (String(repeating: "é", count: 200), String(repeating: "é", count: 127)),
        ("a" + String(repeating: "😀", count: 70), "a" + String(repeating: "😀", count: 63)),
        ("ab" + String(repeating: "€", count: 90), "ab" + String(repeating: "€", count: 84)),
    ])
    func longTopicIsTruncatedOnAScalarBoundary(_ topic: String, _ expected: String) throws {
        #expect(expected.utf8.count <= 255)
        let payload = ByteBuffer(bytes: [1, 2, 3])
        var direct = ByteBuffer()
        let written = direct.writePushFrame(seq: 5, session: 1, kind: .topic, topic: topic, payload: payload)
        #expect(written == direct.readableBytes)
        let body = PushBody(session: 1, kind: .topic, topic: topic, payload: payload)
        var viaMessage = ByteBuffer()
        ServerMessage.push(seq: 5, flags: [], body).write(into: &viaMessage)
        #expect(viaMessage == direct)
        #expect(body.encodedLength == written - 12)

        let frame = try #require(try FrameDecoder().next(from: &direct))
        #expect(direct.readableBytes == 0)
        let decoded = try ServerMessage(frame)
        #expect(
            decoded == .push(seq: 5, flags: [], PushBody(session: 1, kind: .topic, topic: expected, payload: payload)))
    }

    // MARK: Round trips

    static let clientMessages: [ClientMessage] = [
        .auth(seq: 1, AuthRequest(token: "t")),
        .auth(
            seq: 0xFFFF_FFFF,
            AuthRequest(token: "jwt.ü.😀", resume: .init(epoch: "épôque", inbox: 0, broadcast: 4_294_967_295))),
        .auth(seq: 2, AuthRequest(token: "", resume: .init())),
        .ping(seq: 0), .ping(seq: 42),
        .ack(seq: 17, AckBody(session: 1, kind: .user)),
        .ack(seq: 3, AckBody(session: 65_535, kind: .broadcast)),
        .ack(seq: 0, AckBody(session: 0, kind: .topic)),
        .upstream(seq: 5, UpstreamBody(session: 1, payload: ByteBuffer())),
        .upstream(seq: 6, UpstreamBody(session: 9, payload: ByteBuffer(bytes: Array(0...255)))),
        .subscribe(seq: 6, TopicsRequest(session: 1, topics: ["news", "scores", "ñü/😀", "quote\"back\\slash"])),
        .subscribe(seq: 7, TopicsRequest(session: 2, topics: [])),
        .unsubscribe(seq: 8, TopicsRequest(session: 1, topics: ["news"])),
    ]

    @Test(arguments: Self.clientMessages)
    func clientMessageRoundTrip(_ message: ClientMessage) throws {
        var buffer = ByteBuffer()
        let written = message.write(into: &buffer)
        #expect(written == buffer.readableBytes)
        #expect(written == 4 + message.frame.length)
        let frame = try #require(try FrameDecoder().next(from: &buffer))
        #expect(buffer.readableBytes == 0)
        #expect(try ClientMessage(frame) == message)
    }

    static let serverMessages: [ServerMessage] = [
        .authOK(
            seq: 1,
            AuthOK(
                session: 1, app: "demo", user: "alice", device: "default", heartbeat: 30, node: "n1", epoch: "e1",
                recovered: .init(inbox: true, broadcast: true)
            )),
        .authOK(
            seq: 9,
            AuthOK(
                session: 65_535, app: "dèmo", user: "Zoë 😀", device: "téléphone\n\"x\"", heartbeat: 0,
                node: "nœud/1", epoch: "ε", recovered: .init(inbox: false, broadcast: true)
            )),
        .error(seq: 0, ErrorBody(.badFrame, "length 3 is below 8")),
        .error(seq: 9, ErrorBody(code: "forbidden_topic", message: "sujet « interdit » ✋")),
        .pong(seq: 42),
        .push(seq: 17, flags: .ackRequired, PushBody(session: 1, kind: .user, payload: ByteBuffer(string: "hello"))),
        .push(seq: 3, flags: [], PushBody(session: 2, kind: .broadcast, payload: ByteBuffer())),
        .push(
            seq: 0, flags: [],
            PushBody(session: 1, kind: .topic, topic: "nouvelles.tech", payload: ByteBuffer(bytes: [0]))),
        .upstreamOK(seq: 5),
        .ok(seq: 6),
        .goaway(GoAway(session: 0, reason: .draining, reconnect: true, retryAfterMs: 500)),
        .goaway(GoAway(session: 2, reason: .replaced, reconnect: false)),
        .goaway(GoAway(session: 1, reason: .kicked, reconnect: false)),
        .goaway(GoAway(session: 0, reason: .overloaded, reconnect: true, retryAfterMs: Int(Int32.max))),
        .goaway(GoAway(session: 0, reason: "raison inconnue ☂", reconnect: true, retryAfterMs: 0)),
    ]

    @Test(arguments: Self.serverMessages)
    func serverMessageRoundTrip(_ message: ServerMessage) throws {
        var buffer = ByteBuffer()
        let written = message.write(into: &buffer)
        #expect(written == buffer.readableBytes)
        let frame = try #require(try FrameDecoder().next(from: &buffer))
        #expect(buffer.readableBytes == 0)
        #expect(try ServerMessage(frame) == message)
        if case .goaway = message { #expect(frame.seq == 0) }
    }

    @Test func jsonBodiesAreCompactObjects() throws {
        let body = WireJSON.body(GoAway(session: 0, reason: .draining, reconnect: true, retryAfterMs: 500))
        let json = try ProtocolVectors.JSON(parsing: body.readableBytesView)
        #expect(
            json
                == .object([
                    "session": .number(0), "reason": .string("draining"), "reconnect": .bool(true),
                    "retryAfterMs": .number(500),
                ]))
        // Slashes are not escaped, and optional fields that are nil are left out.
        let auth = WireJSON.body(AuthRequest(token: "a/b"))
        #expect(String(buffer: auth) == #"{"token":"a/b"}"#)
    }

    @Test func emptyJSONBodyIsBadFrame() {
        #expect(
            protocolError { () throws(ProtocolError) in
                try WireJSON.decode(GoAway.self, from: ByteBuffer(), op: .goaway)
            }?.code == .badFrame)
    }
}
