import HeraldWire
import NIOCore
import Testing

/// Bodies of the ops clients send, as the server parses them.
@Suite struct ClientMessageTests {
    // MARK: AUTH

    @Test func authMinimalAndWithResume() throws {
        let frame = Frame(op: .auth, seq: 3, body: ByteBuffer(string: #"{"token":"abc"}"#))
        #expect(try ClientMessage(frame) == .auth(seq: 3, AuthRequest(token: "abc")))

        let full = #"{"token":"abc","resume":{"epoch":"e","inbox":4294967295,"broadcast":0},"future":[1,{"x":null}]}"#
        #expect(
            try ClientMessage(Frame(op: .auth, seq: 0, body: ByteBuffer(string: full)))
                == .auth(
                    seq: 0, AuthRequest(token: "abc", resume: .init(epoch: "e", inbox: 4_294_967_295, broadcast: 0)))
        )
        // Every resume field is optional, and null counts as absent.
        #expect(clientError(.auth, #"{"token":"t","resume":{}}"#) == nil)
        #expect(clientError(.auth, #"{"token":"t","resume":null}"#) == nil)
        #expect(clientError(.auth, #"{"token":"t","resume":{"epoch":null,"inbox":null}}"#) == nil)
    }

    @Test(arguments: [
        "[]", #"["token"]"#, #""token""#, "42", "null", "true", "{}", "",
        #"{"token":1}"#, #"{"token":null}"#, #"{"token":["t"]}"#, #"{"token":{"a":1}}"#, #"{"token":true}"#,
        #"{"Token":"t"}"#, #"{"token":"t""#, #"{"token":"t"} x"#, "{'token':'t'}",
        #"{"token":"t","resume":"e1"}"#, #"{"token":"t","resume":[]}"#, #"{"token":"t","resume":5}"#,
        #"{"token":"t","resume":{"epoch":1}}"#, #"{"token":"t","resume":{"epoch":["e"]}}"#,
        #"{"token":"t","resume":{"inbox":"5"}}"#, #"{"token":"t","resume":{"broadcast":true}}"#,
        #"{"token":"t","resume":{"inbox":-1}}"#, #"{"token":"t","resume":{"broadcast":-4294967295}}"#,
        #"{"token":"t","resume":{"inbox":4294967296}}"#, #"{"token":"t","resume":{"broadcast":18446744073709551616}}"#,
        #"{"token":"t","resume":{"inbox":1.5}}"#, #"{"token":"t","resume":{"inbox":1e400}}"#,
        #"{"token":"t","resume":{"inbox":123456789012345678901234567890}}"#,
        #"{"token":"t","resume":{"inbox":NaN}}"#, #"{"token":"t","resume":{"inbox":Infinity}}"#,
    ])
    func authBodyIsBadFrame(_ body: String) {
        #expect(clientError(.auth, body) == .badFrame)
    }

    @Test func authBodyInvalidUTF8() {
        let prefix = Array(#"{"token":""#.utf8)
        let suffix = Array(#""}"#.utf8)
        for bad: [UInt8] in [[0xFF], [0xC3], [0xC0, 0x80], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0x80]] {
            #expect(clientError(.auth, prefix + bad + suffix) == .badFrame, "bytes \(bad)")
        }
        #expect(clientError(.auth, [0xFE, 0xFF] + Array(#"{"token":"t"}"#.utf8)) == .badFrame)
    }

    @Test func authWithUnicodeToken() throws {
        let message = ClientMessage.auth(seq: 1, AuthRequest(token: "tök€n😀\u{0}\"\\/", resume: .init(epoch: "é")))
        #expect(try ClientMessage(message.frame) == message)
    }

    @Test func hostileDeeplyNestedJSON() {
        let limit = Frame.defaultMaximumLength - 8
        // Unclosed, closed, and hidden in an unknown field: within one frame, never a crash.
        let unclosed = [UInt8](repeating: UInt8(ascii: "["), count: limit)
        let depth = (limit - 20) / 2
        let closed = Array(String(repeating: "[", count: depth).utf8) + Array(String(repeating: "]", count: depth).utf8)
        let objects = Array(String(repeating: #"{"a":"#, count: (limit - 20) / 6).utf8)
        let inField =
            Array(#"{"token":"t","x":"#.utf8) + Array(String(repeating: "[", count: depth - 20).utf8)
            + Array(String(repeating: "]", count: depth - 20).utf8) + Array("}".utf8)
        for body in [unclosed, closed, objects, inField] {
            #expect(body.count <= limit)
            #expect(serverDecodeError(rawFrame(op: Opcode.auth.rawValue, body: body))?.code == .badFrame)
        }
        let subscribe =
            Array(#"{"session":1,"topics":"#.utf8) + Array(String(repeating: "[", count: depth - 20).utf8)
        #expect(serverDecodeError(rawFrame(op: Opcode.subscribe.rawValue, body: subscribe))?.code == .badFrame)
    }

    @Test func hugeNumbersInUnknownFields() {
        // Unknown fields are skipped without being converted, so out-of-range numbers there are harmless.
        let digits = String(repeating: "9", count: 60_000)
        for body in [
            #"{"token":"t","n":1e999999}"#, #"{"token":"t","n":-1e-999999}"#, #"{"token":"t","n":\#(digits)}"#,
        ] {
            #expect(clientError(.auth, body) == nil)
        }
        // In a known field they are refused.
        #expect(clientError(.auth, #"{"token":"t","resume":{"inbox":\#(digits)}}"#) == .badFrame)
    }

    // MARK: PING

    @Test func pingMustBeEmpty() throws {
        #expect(try ClientMessage(Frame(op: .ping, seq: 77)) == .ping(seq: 77))
        #expect(clientError(.ping, [0]) == .badFrame)
        #expect(clientError(.ping, "{}") == .badFrame)
    }

    // MARK: SUBSCRIBE / UNSUBSCRIBE

    @Test(arguments: [Opcode.subscribe, .unsubscribe])
    func topicsRequest(_ op: Opcode) throws {
        let body = #"{"session":65535,"topics":["news","scörés",""],"extra":true}"#
        let message = try ClientMessage(Frame(op: op, seq: 6, body: ByteBuffer(string: body)))
        let request = TopicsRequest(session: 65_535, topics: ["news", "scörés", ""])
        #expect(message == (op == .subscribe ? .subscribe(seq: 6, request) : .unsubscribe(seq: 6, request)))
        #expect(clientError(op, #"{"session":0,"topics":[]}"#) == nil)
    }

    @Test(arguments: [Opcode.subscribe, .unsubscribe])
    func topicsRequestIsBadFrame(_ op: Opcode) {
        let bodies = [
            #"{"session":65536,"topics":["a"]}"#, #"{"session":-1,"topics":["a"]}"#,
            #"{"session":1.5,"topics":["a"]}"#, #"{"session":"1","topics":["a"]}"#,
            #"{"topics":["a"]}"#, #"{"session":1}"#, #"{"session":1,"topics":"news"}"#,
            #"{"session":1,"topics":{"news":true}}"#, #"{"session":1,"topics":[1]}"#,
            #"{"session":1,"topics":[null]}"#, #"{"session":1,"topics":null}"#, "[]", "", "1",
        ]
        for body in bodies {
            #expect(clientError(op, body) == .badFrame, "\(body)")
        }
    }

    // MARK: ACK

    @Test func ackBody() throws {
        for kind in PushKind.allCases {
            let message = try ClientMessage(
                Frame(op: .ack, seq: 10, body: ByteBuffer(bytes: [0xFF, 0xFE, kind.rawValue])))
            #expect(message == .ack(seq: 10, AckBody(session: 0xFFFE, kind: kind)))
        }
    }

    @Test func ackBodyOfWrongSize() {
        for size in [0, 1, 2, 4, 5, 100] {
            #expect(clientError(.ack, [UInt8](repeating: 0, count: size)) == .badFrame, "size \(size)")
        }
    }

    @Test(arguments: [UInt8(3), 4, 127, 255])
    func ackOfUnknownKind(_ kind: UInt8) {
        #expect(clientError(.ack, [0, 1, kind]) == .badFrame)
    }

    // MARK: UPSTREAM

    @Test func upstreamBody() throws {
        #expect(clientError(.upstream, []) == .badFrame)
        #expect(clientError(.upstream, [1]) == .badFrame)
        #expect(
            try ClientMessage(Frame(op: .upstream, seq: 2, body: ByteBuffer(bytes: [0, 3])))
                == .upstream(seq: 2, UpstreamBody(session: 3, payload: ByteBuffer())))
        #expect(
            try ClientMessage(Frame(op: .upstream, seq: 2, body: ByteBuffer(bytes: [1, 0, 0xFF, 0])))
                == .upstream(seq: 2, UpstreamBody(session: 256, payload: ByteBuffer(bytes: [0xFF, 0]))))
    }

    // MARK: Server ops

    @Test(arguments: Opcode.allCases.filter { !$0.isClientOp })
    func serverOpSentByClientIsUnknownOp(_ op: Opcode) {
        let bodies: [[UInt8]] = [[], Array(#"{"session":1}"#.utf8), [0, 1, 0, 0]]
        for body in bodies {
            #expect(clientError(op, body) == .unknownOp)
        }
        #expect(serverDecodeError(rawFrame(op: op.rawValue))?.code == .unknownOp)
    }

    @Test func clientOps() {
        #expect(Set(Opcode.allCases.filter(\.isClientOp)) == [.auth, .ping, .ack, .upstream, .subscribe, .unsubscribe])
    }

    @Test func seqAccessor() {
        let messages: [ClientMessage] = [
            .auth(seq: 1, AuthRequest(token: "t")), .ping(seq: 2), .ack(seq: 3, AckBody(session: 1, kind: .user)),
            .upstream(seq: 4, UpstreamBody(session: 1, payload: ByteBuffer())),
            .subscribe(seq: 5, TopicsRequest(session: 1, topics: [])),
            .unsubscribe(seq: 6, TopicsRequest(session: 1, topics: [])),
        ]
        #expect(messages.map(\.seq) == [1, 2, 3, 4, 5, 6])
        #expect(messages.map(\.frame.seq) == [1, 2, 3, 4, 5, 6])
    }
}
