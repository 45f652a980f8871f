import HeraldTestUtils
import HeraldWire
import Testing

/// SIGTERM drains the node; a restart on the same data directory keeps the apps.
@Suite("Restart", .timeLimit(.minutes(1)))
struct RestartTests {
    @Test("SIGTERM sends GOAWAY draining and exits 0; apps and secrets survive a restart")
    func restartKeepsApps() async throws {
        let harness = try await Harness.start()
        let secret = "e2e-secret-" + String(repeating: "s", count: 24)
        let app = try await harness.api.createApp("durable-app", secret: secret)
        #expect(app.secret == secret)
        let token = try await harness.api.token(app, user: "alice")

        let tcp = try await RawClient.connect(.tcp, to: harness.server)
        try await tcp.auth(token: token)
        let webSocket = try await RawClient.connect(.webSocket, to: harness.server)
        try await webSocket.auth(token: try await harness.api.token(app, user: "bob"))
        let unauthenticated = try await RawClient.connect(.tcp, to: harness.server)
        try await unauthenticated.ping(seq: 1)

        async let exit = harness.server.terminate(timeout: .seconds(15))
        for client in [tcp, webSocket, unauthenticated] {
            let goAway = try await client.receiveGoAway(timeout: .seconds(10))
            #expect(goAway.session == 0)
            #expect(goAway.reason == GoAwayReason.draining.rawValue)
            #expect(goAway.reconnect)
            #expect(goAway.retryAfterMs >= 0)
            try await client.expectClosed(timeout: .seconds(10))
        }
        #expect(try await exit == .exited(0))

        try await harness.server.restart()
        let api = APIClient(harness.server)
        #expect(try await api.appIDs().contains(app.id))
        #expect(try await api.appIDs().contains(harness.app.id))

        let client = try await RawClient.connect(.tcp, to: harness.server)
        let ok = try await client.auth(token: token)
        #expect(ok.app == app.id)
        #expect(ok.user == "alice")
        #expect(try await api.push(app, users: ["alice"], payload: .text("back")).sessions == 1)
        #expect(try await client.receivePush().body.payloadBytes == Array("back".utf8))
        // A token signed locally with the same secret works too: the secret itself survived.
        let local = try await RawClient.connect(.webSocket, to: harness.server)
        try await local.auth(token: TestTokens.sign(app: app.id, secret: secret, user: "carol"))
    }
}
