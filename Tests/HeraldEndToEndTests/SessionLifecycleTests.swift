import HeraldTestUtils
import HeraldWire
import Testing

/// Replacement, kicks and the user status endpoint.
@Suite("Session lifecycle", .sharedServer, .timeLimit(.minutes(1)))
struct SessionLifecycleTests {
    @Test("a second session for the same (app, user, device) replaces the first", arguments: Transport.allCases)
    func replaced(transport: Transport) async throws {
        let harness = try await Harness.make()
        let (first, _) = try await harness.connectAndAuth(transport, user: "alice", device: "phone")
        let (second, ok) = try await harness.connectAndAuth(transport == .tcp ? .webSocket : .tcp, user: "alice", device: "phone")
        #expect(ok.session == 1)

        let goAway = try await first.receiveGoAway()
        #expect(goAway == GoAway(session: 1, reason: .replaced, reconnect: false, retryAfterMs: goAway.retryAfterMs))
        #expect(try await first.expectClosed() == 0, "the connection closes when its last session ends")

        #expect(try await harness.api.push(harness.app, users: ["alice"], payload: .text("new")).sessions == 1)
        #expect(try await second.receivePush().body.payloadBytes == Array("new".utf8))
    }

    @Test("replacing one session of several keeps the connection", arguments: Transport.allCases)
    func replacedOneOfSeveral(transport: Transport) async throws {
        let harness = try await Harness.make()
        let shared = try await harness.connect(transport)
        #expect(try await shared.auth(token: try await harness.token(user: "alice"), seq: 1).session == 1)
        #expect(try await shared.auth(token: try await harness.token(user: "bob"), seq: 2).session == 2)

        let (_, _) = try await harness.connectAndAuth(transport, user: "alice")
        let goAway = try await shared.receiveGoAway()
        #expect(goAway.session == 1)
        #expect(goAway.reason == GoAwayReason.replaced.rawValue)
        #expect(goAway.reconnect == false)

        try await shared.ping(seq: 3)
        #expect(try await harness.api.push(harness.app, users: ["bob"], payload: .text("b")).sessions == 1)
        #expect(try await shared.receivePush().body.session == 2)
    }

    @Test("a different device is not replaced", arguments: Transport.allCases)
    func otherDeviceNotReplaced(transport: Transport) async throws {
        let harness = try await Harness.make()
        let (phone, _) = try await harness.connectAndAuth(transport, user: "alice", device: "phone")
        let (tablet, _) = try await harness.connectAndAuth(transport, user: "alice", device: "tablet")
        #expect(try await harness.api.push(harness.app, users: ["alice"], payload: .text("both")).sessions == 2)
        #expect(try await phone.receivePush().body.payloadBytes == Array("both".utf8))
        #expect(try await tablet.receivePush().body.payloadBytes == Array("both".utf8))
    }

    @Test("kick by device, then kick all; the user status follows", arguments: Transport.allCases)
    func kick(transport: Transport) async throws {
        let harness = try await Harness.make()
        let offline = try await harness.api.userStatus(harness.app, user: "alice")
        #expect(!offline.online)
        #expect(offline.sessions.isEmpty)

        let (phone, _) = try await harness.connectAndAuth(transport, user: "alice", device: "phone")
        let (tablet, _) = try await harness.connectAndAuth(transport, user: "alice", device: "tablet")

        let online = try await harness.api.userStatus(harness.app, user: "alice")
        #expect(online.online)
        #expect(Set(online.sessions.map(\.device)) == ["phone", "tablet"])
        #expect(online.sessions.allSatisfy { $0.node == harness.server.node })

        #expect(try await harness.api.kick(harness.app, user: "alice", device: "phone") == 1)
        let goAway = try await phone.receiveGoAway()
        #expect(goAway.session == 1)
        #expect(goAway.reason == GoAwayReason.kicked.rawValue)
        try await phone.expectClosed()

        try await tablet.ping(seq: 1)
        #expect(try await harness.api.push(harness.app, users: ["alice"], payload: .text("t")).sessions == 1)
        #expect(try await tablet.receivePush().body.payloadBytes == Array("t".utf8))
        let oneLeft = try await harness.api.userStatus(harness.app, user: "alice")
        #expect(oneLeft.sessions.map(\.device) == ["tablet"])

        #expect(try await harness.api.kick(harness.app, user: "alice") == 1)
        let second = try await tablet.receiveGoAway()
        #expect(second.reason == GoAwayReason.kicked.rawValue)
        try await tablet.expectClosed()

        let gone = try await harness.api.userStatus(harness.app, user: "alice")
        #expect(!gone.online)
        #expect(gone.sessions.isEmpty)
        #expect(try await harness.api.kick(harness.app, user: "alice") == 0)
    }

    @Test("a closed connection's sessions go offline", arguments: Transport.allCases)
    func disconnectGoesOffline(transport: Transport) async throws {
        let harness = try await Harness.make()
        let (client, _) = try await harness.connectAndAuth(transport, user: "alice")
        #expect(try await harness.api.userStatus(harness.app, user: "alice").online)
        await client.close()
        #expect(try await eventually { try await !harness.api.userStatus(harness.app, user: "alice").online })
        #expect(try await harness.api.push(harness.app, users: ["alice"], payload: .text("x")).sessions == 0)
    }
}
