import Foundation
import HeraldTestUtils
import HeraldWire
import NIOCore
import Testing

/// The gateway's limits on what one connection may cost: the smaller frame limit before
/// AUTH_OK and the AUTHs per connection.
@Suite("Gateway limits", .timeLimit(.minutes(1)))
struct GatewayLimitsTests {
    @Test(
        "before AUTH_OK a frame above --max-frame-before-auth is frame_too_large and a close",
        arguments: Transport.allCases
    )
    func frameBeforeAuth(transport: Transport) async throws {
        let harness = try await Harness.start(["--max-frame-before-auth", "1024"])
        // Just above the limit: on WebSocket the message itself fits the WebSocket layer's
        // limit, so the frame's own length is what refuses it, as on TCP.
        let refused = try await harness.connect(transport)
        try await refused.sendRaw(rawFrame(op: 1, body: [UInt8](repeating: 0x20, count: 1_030)))
        let error = try await refused.receiveError()
        #expect(error.body.code == ErrorCode.frameTooLarge.rawValue)
        try await refused.expectClosed()

        // Far above it: refused from the header, before the rest is read (on WebSocket by the
        // WebSocket layer, which closes with status 1009).
        let parked = try await harness.connect(transport)
        try await parked.sendRaw(rawFrame(op: 1, body: [UInt8](repeating: 0x20, count: 40_000)))
        try await parked.expectClosed()

        // Once authenticated, frames up to --max-frame are taken.
        let (client, ok) = try await harness.connectAndAuth(transport, user: "alice")
        let payload = ByteBuffer(repeating: 0x41, count: 40_000)
        try await client.send(.upstream(seq: 7, UpstreamBody(session: ok.session, payload: payload)))
        let answer = try await client.receiveError()
        #expect(answer.seq == 7)
        #expect(answer.body.code == ErrorCode.upstreamUnavailable.rawValue)
        try await client.ping(seq: 8)
    }

    @Test(
        "AUTHs past --max-auth-per-connection are rate_limited and the connection stays",
        arguments: Transport.allCases
    )
    func authsPerConnection(transport: Transport) async throws {
        let harness = try await Harness.start(["--max-auth-per-connection", "3"])
        let client = try await harness.connect(transport)
        #expect(try await client.auth(token: try await harness.token(user: "a"), seq: 1).session == 1)
        // A refused token does not count: it loads no replay.
        try await client.send(.auth(seq: 2, AuthRequest(token: "not-a-token")))
        #expect(try await client.receiveError().body.code == ErrorCode.authFailed.rawValue)
        #expect(try await client.auth(token: try await harness.token(user: "b"), seq: 3).session == 2)
        #expect(try await client.auth(token: try await harness.token(user: "c"), seq: 4).session == 3)

        try await client.send(.auth(seq: 5, AuthRequest(token: try await harness.token(user: "d"))))
        let error = try await client.receiveError()
        #expect(error.seq == 5)
        #expect(error.body.code == ErrorCode.rateLimited.rawValue)
        try await client.ping(seq: 6)
        #expect(try await harness.api.push(harness.app, users: ["c"], payload: .text("still here")).sessions == 1)
        #expect(try await client.receivePush().body.session == 3)
    }
}

/// Connections per source address, over both listeners.
@Suite("Accept limits", .timeLimit(.minutes(1)))
struct AcceptLimitsTests {
    @Test("past --max-connections-per-address TCP is closed at once and WebSocket answered 503")
    func connectionsPerAddress() async throws {
        // The held clients never authenticate; the default 10 s auth timeout could free a slot
        // while a loaded machine is still at the next step.
        let harness = try await Harness.start(["--max-connections-per-address", "2", "--auth-timeout", "300"])
        var held: [RawClient] = []
        for transport in Transport.allCases {
            let client = try await harness.connect(transport)
            try await client.ping(seq: 1)
            held.append(client)
        }
        let refused = try await harness.connect(.tcp)
        #expect(try await refused.expectClosed() == 0, "closed without a frame")

        let webSocketPort = try #require(URL(string: "http://127.0.0.1:\(harness.server.webSocketPort)"))
        let http = APIClient(baseURL: webSocketPort, adminKey: "")
        #expect(try await http.request("GET", "/ws").status == 503)

        // A freed slot is usable again.
        await held.removeLast().close()
        let admitted = await eventually(timeout: .seconds(5)) {
            guard let client = try? await harness.connect(.tcp) else { return false }
            guard (try? await client.ping(seq: 2, timeout: .seconds(5))) != nil else { return false }
            held.append(client)
            return true
        }
        #expect(admitted, "a connection must be admitted once another has closed")
        _ = held
    }
}
