import HeraldWire
import NIOCore
import Testing

/// Bodies of the ops the server sends, as a client parses them.
@Suite struct ServerMessageTests {
    // MARK: PUSH

    @Test func pushBodies() throws {
        let user = try PushBody(decoding: ByteBuffer(bytes: [0, 1, 0, 0]))
        #expect(user == PushBody(session: 1, kind: .user, payload: ByteBuffer()))
        let topic = try PushBody(decoding: ByteBuffer(bytes: [0, 2, 2, 3] + Array("añ".utf8) + [0xFF]))
        #expect(topic == PushBody(session: 2, kind: .topic, topic: "añ", payload: ByteBuffer(bytes: [0xFF])))
        // A full-length topic.
        let long = String(repeating: "t", count: 255)
        let decoded = try PushBody(decoding: ByteBuffer(bytes: [0, 1, 2, 255] + Array(long.utf8)))
        #expect(decoded.topic == long)
        #expect(decoded.payload.readableBytes == 0)
    }

    @Test func pushBodyTooShort() {
        for body: [UInt8] in [[], [0], [0, 1], [0, 1, 0]] {
            #expect(serverError(.push, body) == .badFrame, "\(body)")
        }
    }

    @Test func pushTopicTruncated() {
        #expect(serverError(.push, [0, 1, 2, 5] + Array("new".utf8)) == .badFrame)
        #expect(serverError(.push, [0, 1, 2, 1]) == .badFrame)
        #expect(serverError(.push, [0, 1, 2, 255] + [UInt8](repeating: 0x61, count: 254)) == .badFrame)
    }

    @Test(arguments: [UInt8(3), 4, 128, 255])
    func pushOfUnknownKind(_ kind: UInt8) {
        #expect(serverError(.push, [0, 1, kind, 0]) == .badFrame)
    }

    @Test(arguments: [PushKind.user, .broadcast])
    func topicOnNonTopicKind(_ kind: PushKind) {
        #expect(serverError(.push, [0, 1, kind.rawValue, 1, 0x61]) == .badFrame)
        #expect(serverError(.push, [0, 1, kind.rawValue, 0, 0x61]) == nil)
    }

    @Test func pushTopicInvalidUTF8() {
        let invalid: [[UInt8]] = [
            [0xFF], [0xC3], [0xC0, 0x80], [0xED, 0xA0, 0x80], [0x61, 0x80], [0xF0, 0x9F, 0x98],
        ]
        for bytes in invalid {
            #expect(serverError(.push, [0, 1, 2, UInt8(bytes.count)] + bytes) == .badFrame, "\(bytes)")
        }
        // The payload is opaque: invalid UTF-8 there is fine.
        #expect(serverError(.push, [0, 1, 2, 1, 0x61, 0xFF, 0xC3]) == nil)
    }

    /// The protocol gives topic names as 1 to 255 bytes, but the codec lets a topic PUSH carry an empty
    /// topic: it is the API's job not to publish to one. Pinned here so a change is deliberate.
    @Test func topicKindWithEmptyTopicIsDecoded() throws {
        #expect(try PushBody(decoding: ByteBuffer(bytes: [0, 1, 2, 0])).topic == "")
    }

    @Test func pushKeepsFlags() throws {
        let frame = Frame(op: .push, flags: .ackRequired, seq: 99, body: ByteBuffer(bytes: [0, 1, 0, 0, 1]))
        #expect(
            try ServerMessage(frame)
                == .push(
                    seq: 99, flags: .ackRequired, PushBody(session: 1, kind: .user, payload: ByteBuffer(bytes: [1]))))
    }

    // MARK: Empty bodies

    @Test(arguments: [Opcode.pong, .upstreamOK, .ok])
    func emptyBodyOps(_ op: Opcode) throws {
        let message = try ServerMessage(Frame(op: op, seq: 12))
        switch op {
        case .pong: #expect(message == .pong(seq: 12))
        case .upstreamOK: #expect(message == .upstreamOK(seq: 12))
        default: #expect(message == .ok(seq: 12))
        }
        #expect(serverError(op, [0]) == .badFrame)
        #expect(serverError(op, Array("{}".utf8)) == .badFrame)
    }

    // MARK: JSON bodies

    @Test func jsonBodiesAreStrict() {
        #expect(serverError(.authOK, Array(#"{"session":1}"#.utf8)) == .badFrame)
        #expect(serverError(.authOK, []) == .badFrame)
        #expect(serverError(.error, Array(#"{"code":"bad_frame"}"#.utf8)) == .badFrame)
        #expect(serverError(.error, Array(#"{"code":1,"message":"m"}"#.utf8)) == .badFrame)
        #expect(
            serverError(.goaway, Array(#"{"session":0,"reason":"x","reconnect":"yes","retryAfterMs":0}"#.utf8))
                == .badFrame)
        #expect(
            serverError(.goaway, Array(#"{"session":70000,"reason":"x","reconnect":true,"retryAfterMs":0}"#.utf8))
                == .badFrame)
        #expect(serverError(.goaway, Array("[]".utf8)) == .badFrame)
    }

    @Test func unknownErrorCodeAndReasonAreKeptAsText() throws {
        let error = try ServerMessage(
            Frame(op: .error, seq: 4, body: ByteBuffer(string: #"{"code":"brand_new","message":"?"}"#)))
        guard case .error(4, let body) = error else {
            Issue.record("expected ERROR, got \(error)")
            return
        }
        #expect(body.code == "brand_new")
        #expect(body.errorCode == nil)
        #expect(ErrorBody(code: "bad_frame", message: "").errorCode == .badFrame)

        let goaway = try ServerMessage(
            Frame(
                op: .goaway, seq: 0,
                body: ByteBuffer(string: #"{"session":3,"reason":"moon","reconnect":false,"retryAfterMs":10}"#)))
        #expect(goaway == .goaway(GoAway(session: 3, reason: "moon", reconnect: false, retryAfterMs: 10)))
        if case .goaway(let body) = goaway { #expect(body.knownReason == nil) }
        #expect(GoAway(session: 0, reason: .draining, reconnect: true).knownReason == .draining)
    }

    @Test func errorBodyFromProtocolError() {
        let body = ErrorBody(ProtocolError(.forbiddenTopic, "no"))
        #expect(body == ErrorBody(code: "forbidden_topic", message: "no"))
        #expect(ErrorBody(.rateLimited, "slow") == ErrorBody(code: "rate_limited", message: "slow"))
        #expect(ProtocolError(.internal, "x").description == "internal: x")
    }

    // MARK: Client ops

    @Test(arguments: Opcode.allCases.filter(\.isClientOp))
    func clientOpSentByServerIsUnknownOp(_ op: Opcode) {
        for body: [UInt8] in [[], Array(#"{"token":"t"}"#.utf8), [0, 1, 0]] {
            #expect(serverError(op, body) == .unknownOp)
        }
    }
}
