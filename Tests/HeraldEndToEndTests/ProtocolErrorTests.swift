import HeraldTestUtils
import HeraldWire
import NIOCore
import Testing

/// Every error code a client can provoke, and whether the connection survives it
/// (docs/protocol.md, "Errors and GOAWAY").
@Suite("Protocol errors", .sharedServer, .timeLimit(.minutes(1)))
struct ProtocolErrorTests {
    /// Bytes that are not a valid frame, and the code the server must answer.
    struct MalformedInput: Sendable, CustomStringConvertible {
        var name: String
        var bytes: [UInt8]
        var code: ErrorCode

        var description: String { self.name }

        static let all: [MalformedInput] = [
            MalformedInput(name: "length 0", bytes: [0, 0, 0, 0, 1, 4, 0, 0, 0, 0, 0, 1], code: .badFrame),
            MalformedInput(name: "length below 8", bytes: rawFrame(length: 4, op: 4), code: .badFrame),
            MalformedInput(name: "length above the limit", bytes: rawFrame(length: 65_537, op: 1), code: .frameTooLarge),
            MalformedInput(name: "length 2^32-1", bytes: rawFrame(length: UInt32.max, op: 1), code: .frameTooLarge),
            MalformedInput(name: "version 2", bytes: rawFrame(version: 2, op: 4), code: .unsupportedVersion),
            MalformedInput(name: "version 0", bytes: rawFrame(version: 0, op: 4), code: .unsupportedVersion),
            MalformedInput(name: "op 0", bytes: rawFrame(op: 0), code: .unknownOp),
            MalformedInput(name: "op 99", bytes: rawFrame(op: 99), code: .unknownOp),
            MalformedInput(name: "server op PONG sent by a client", bytes: rawFrame(op: 5), code: .unknownOp),
            MalformedInput(
                name: "server op AUTH_OK sent by a client",
                bytes: rawFrame(op: 2, body: Array(#"{"session":1}"#.utf8)),
                code: .unknownOp
            ),
            MalformedInput(name: "reserved flag bit", bytes: rawFrame(op: 4, flags: 0x0002), code: .badFrame),
            MalformedInput(name: "ACK_REQUIRED on PING", bytes: rawFrame(op: 4, flags: 0x0001), code: .badFrame),
            MalformedInput(name: "PING with a body", bytes: rawFrame(op: 4, body: [1, 2, 3]), code: .badFrame),
            MalformedInput(name: "AUTH body not JSON", bytes: rawFrame(op: 1, body: Array("not json".utf8)), code: .badFrame),
            MalformedInput(name: "AUTH body empty", bytes: rawFrame(op: 1), code: .badFrame),
            MalformedInput(name: "AUTH JSON array", bytes: rawFrame(op: 1, body: Array("[1,2]".utf8)), code: .badFrame),
            MalformedInput(
                name: "AUTH without token",
                bytes: rawFrame(op: 1, body: Array(#"{"tok":"x"}"#.utf8)),
                code: .badFrame
            ),
            MalformedInput(
                name: "AUTH token of the wrong type",
                bytes: rawFrame(op: 1, body: Array(#"{"token":5}"#.utf8)),
                code: .badFrame
            ),
        ]
    }

    @Test("malformed frames get ERROR then a close", arguments: Transport.allCases, MalformedInput.all)
    func malformedFrame(transport: Transport, input: MalformedInput) async throws {
        let harness = try await Harness.make()
        let client = try await harness.connect(transport)
        try await client.sendRaw(input.bytes)
        let error = try await client.receiveError()
        #expect(error.body.code == input.code.rawValue, "\(input.name): \(error.body.message)")
        #expect(!error.body.message.isEmpty)
        try await client.expectClosed()
    }

    @Test("a malformed frame closes an authenticated connection too", arguments: Transport.allCases)
    func malformedAfterAuth(transport: Transport) async throws {
        let harness = try await Harness.make()
        let (client, _) = try await harness.connectAndAuth(transport, user: "alice")
        try await client.sendRaw(rawFrame(op: 10, seq: 4, body: Array("{not json".utf8)))
        let error = try await client.receiveError()
        #expect(error.body.code == ErrorCode.badFrame.rawValue)
        #expect(try await client.expectClosed() == 0)
        #expect(try await eventually { try await !harness.api.userStatus(harness.app, user: "alice").online })
    }

    @Test("a WebSocket text message is bad_frame and a close")
    func webSocketText() async throws {
        let harness = try await Harness.make()
        let client = try await harness.connect(.webSocket)
        try await client.sendWebSocketText(#"{"token":"x"}"#)
        let error = try await client.receiveError()
        #expect(error.body.code == ErrorCode.badFrame.rawValue)
        try await client.expectClosed()
    }

    @Test("a WebSocket message must hold exactly one frame", arguments: [
        rawFrame(op: 4, seq: 1) + rawFrame(op: 4, seq: 2),
        Array(rawFrame(op: 4, seq: 1).prefix(10)),
        rawFrame(length: 20, op: 4),
    ])
    func webSocketMessageFraming(bytes: [UInt8]) async throws {
        let harness = try await Harness.make()
        let client = try await harness.connect(.webSocket)
        try await client.sendRaw(bytes)
        let error = try await client.receiveError()
        #expect(error.body.code == ErrorCode.badFrame.rawValue, "\(error.body.message)")
        try await client.expectClosed()
    }

    @Test("any op but AUTH and PING before AUTH is auth_required and a close", arguments: Transport.allCases, [
        ClientMessage.subscribe(seq: 3, TopicsRequest(session: 1, topics: ["news"])),
        .unsubscribe(seq: 3, TopicsRequest(session: 1, topics: ["news"])),
        .ack(seq: 3, AckBody(session: 1, kind: .user)),
        .upstream(seq: 3, UpstreamBody(session: 1, payload: ByteBuffer(string: "x"))),
    ])
    func authRequired(transport: Transport, message: ClientMessage) async throws {
        let harness = try await Harness.make()
        let client = try await harness.connect(transport)
        try await client.ping(seq: 1)
        try await client.send(message)
        let error = try await client.receiveError()
        #expect(error.body.code == ErrorCode.authRequired.rawValue)
        #expect(error.seq == 3, "ERROR echoes the failing request's seq")
        try await client.expectClosed()
    }

    /// Tokens that must be refused, and the code for each.
    enum BadToken: String, Sendable, CaseIterable, CustomStringConvertible {
        case notAJWT, wrongSignature, expired, unknownApp, missingUser

        var code: ErrorCode {
            switch self {
            case .notAJWT, .wrongSignature, .missingUser: .authFailed
            case .expired: .tokenExpired
            case .unknownApp: .unknownApp
            }
        }

        var description: String { self.rawValue }

        func token(for app: AppCredentials) -> String {
            switch self {
            case .notAJWT: "not-a-jwt"
            case .wrongSignature: TestTokens.sign(app: app.id, secret: "not-the-secret", user: "mallory")
            case .expired: TestTokens.sign(app: app.id, secret: app.secret, user: "alice", expiresIn: -60)
            case .unknownApp: TestTokens.sign(app: "no-such-app", secret: app.secret, user: "alice")
            case .missingUser: TestTokens.sign(app: app.id, secret: app.secret, user: "")
            }
        }
    }

    @Test("a refused AUTH closes a connection without sessions", arguments: Transport.allCases, BadToken.allCases)
    func refusedAuthOnFreshConnection(transport: Transport, token: BadToken) async throws {
        let harness = try await Harness.make()
        let client = try await harness.connect(transport)
        try await client.send(.auth(seq: 21, AuthRequest(token: token.token(for: harness.app))))
        let error = try await client.receiveError()
        #expect(error.body.code == token.code.rawValue, "\(error.body.message)")
        #expect(error.seq == 21)
        try await client.expectClosed()
    }

    @Test("a refused AUTH leaves a connection with a session open", arguments: Transport.allCases, BadToken.allCases)
    func refusedAuthWithSession(transport: Transport, token: BadToken) async throws {
        let harness = try await Harness.make()
        let (client, _) = try await harness.connectAndAuth(transport, user: "bob")
        try await client.send(.auth(seq: 22, AuthRequest(token: token.token(for: harness.app))))
        let error = try await client.receiveError()
        #expect(error.body.code == token.code.rawValue, "\(error.body.message)")
        #expect(error.seq == 22)
        try await client.ping(seq: 23)
        #expect(try await harness.api.push(harness.app, users: ["bob"], payload: .text("ok")).sessions == 1)
        let push = try await client.receivePush()
        #expect(push.body.session == 1)
        // The next session still gets the next number.
        let next = try await client.auth(token: try await harness.token(user: "carol"), seq: 24)
        #expect(next.session == 2)
    }

    @Test("a session beyond --max-sessions is too_many_sessions; the connection stays", arguments: Transport.allCases)
    func tooManySessions(transport: Transport) async throws {
        let harness = try await Harness.start(["--max-sessions", "2"])
        let client = try await harness.connect(transport)
        #expect(try await client.auth(token: try await harness.token(user: "u1"), seq: 1).session == 1)
        #expect(try await client.auth(token: try await harness.token(user: "u2"), seq: 2).session == 2)
        try await client.send(.auth(seq: 3, AuthRequest(token: try await harness.token(user: "u3"))))
        let error = try await client.receiveError()
        #expect(error.body.code == ErrorCode.tooManySessions.rawValue)
        #expect(error.seq == 3)
        try await client.ping(seq: 4)
        #expect(try await harness.api.push(harness.app, users: ["u2"], payload: .text("x")).sessions == 1)
        #expect(try await client.receivePush().body.session == 2)
        #expect(try await harness.api.push(harness.app, users: ["u3"], payload: .text("x")).sessions == 0)
    }

    @Test("SUBSCRIBE for a session that does not exist is unknown_session", arguments: Transport.allCases)
    func unknownSession(transport: Transport) async throws {
        let harness = try await Harness.make()
        let (client, _) = try await harness.connectAndAuth(transport, user: "alice")
        try await client.send(.subscribe(seq: 31, TopicsRequest(session: 9, topics: ["news"])))
        let error = try await client.receiveError()
        #expect(error.body.code == ErrorCode.unknownSession.rawValue)
        #expect(error.seq == 31)
        try await client.send(.unsubscribe(seq: 32, TopicsRequest(session: 0, topics: ["news"])))
        let second = try await client.receiveError()
        #expect(second.body.code == ErrorCode.unknownSession.rawValue)
        #expect(second.seq == 32)
        try await client.ping(seq: 33)
    }

    @Test("a topic outside the token's topics claim is forbidden_topic", arguments: Transport.allCases)
    func forbiddenTopic(transport: Transport) async throws {
        let harness = try await Harness.make()
        let (client, _) = try await harness.connectAndAuth(transport, user: "alice", topics: ["news.*", "alerts"])
        try await client.send(.subscribe(seq: 41, TopicsRequest(session: 1, topics: ["sports"])))
        let error = try await client.receiveError()
        #expect(error.body.code == ErrorCode.forbiddenTopic.rawValue)
        #expect(error.seq == 41)

        try await client.send(.subscribe(seq: 42, TopicsRequest(session: 1, topics: ["news.tech", "alerts"])))
        #expect(try await client.receive() == .ok(seq: 42))
        #expect(try await harness.api.publish(harness.app, topic: "sports", payload: .text("no")) == 0)
        #expect(try await harness.api.publish(harness.app, topic: "news.tech", payload: .text("yes")) == 1)
        let push = try await client.receivePush()
        #expect(push.body.topic == "news.tech")
    }
}
