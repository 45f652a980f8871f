import HeraldTestUtils
import HeraldWire
import Testing

/// Connection cap and auth timeout: servers started with small limits.
@Suite("Admission", .timeLimit(.minutes(1)))
struct AdmissionTests {
    @Test("connection N+1 beyond --max-connections gets server_busy and a close", arguments: Transport.allCases)
    func serverBusy(transport: Transport) async throws {
        // The held clients never authenticate; the default 10 s auth timeout could free a slot
        // while a loaded machine is still at the next step.
        let harness = try await Harness.start(["--max-connections", "3", "--auth-timeout", "300"])
        var held: [RawClient] = []
        for index in 0..<3 {
            // Mixed transports: the cap is per node, not per listener.
            let client = try await harness.connect(index.isMultiple(of: 2) ? .tcp : .webSocket)
            try await client.ping(seq: UInt32(index))
            held.append(client)
        }
        let refused = try await harness.connect(transport)
        let error = try await refused.receiveError()
        #expect(error.body.code == ErrorCode.serverBusy.rawValue)
        #expect(error.seq == 0)
        try await refused.expectClosed()

        // A freed slot is usable again.
        await held.removeLast().close()
        let admitted = await eventually(timeout: .seconds(5)) {
            guard let client = try? await harness.connect(transport) else { return false }
            do {
                try await client.ping(seq: 77)
                held.append(client)
                return true
            } catch {
                return false
            }
        }
        #expect(admitted, "a connection must be admitted once another has closed")
        _ = held
    }

    @Test("a connection that sends no AUTH gets auth_timeout and a close", arguments: Transport.allCases)
    func authTimeout(transport: Transport) async throws {
        let harness = try await Harness.start(["--auth-timeout", "1"])
        let start = ContinuousClock.now
        let client = try await harness.connect(transport)
        let error = try await client.receiveError(timeout: .seconds(6))
        let elapsed = ContinuousClock.now - start
        #expect(error.body.code == ErrorCode.authTimeout.rawValue)
        #expect(error.seq == 0)
        #expect(elapsed >= .milliseconds(900), "auth_timeout after \(elapsed), before the 1 s timeout")
        try await client.expectClosed()
    }

    @Test("PINGs do not stand in for AUTH", arguments: Transport.allCases)
    func pingsDoNotExtendAuthTimeout(transport: Transport) async throws {
        let harness = try await Harness.start(["--auth-timeout", "1"])
        let client = try await harness.connect(transport)
        let deadline = ContinuousClock.now + .seconds(6)
        var seq: UInt32 = 0
        while ContinuousClock.now < deadline {
            seq += 1
            // The server may close between two PINGs; then read what it sent before closing.
            try? await client.send(.ping(seq: seq))
            guard let event = try await client.poll(for: .milliseconds(300)) else { continue }
            guard case .frame(let frame) = event else {
                Issue.record("connection ended without auth_timeout: \(event)")
                return
            }
            switch try ServerMessage(frame) {
            case .pong: continue
            case .error(_, let body):
                #expect(body.code == ErrorCode.authTimeout.rawValue)
                try await client.expectClosed()
                return
            case let other:
                Issue.record("unexpected \(other)")
                return
            }
        }
        Issue.record("no auth_timeout within 6 s while only PINGing")
    }

    @Test("an authenticated connection outlives the auth timeout", arguments: Transport.allCases)
    func authenticatedConnectionStays(transport: Transport) async throws {
        // Five seconds: the AUTH must arrive within them of the connection (or the upgrade), which a
        // machine busy with the other tests has delayed past two. The client then listens until a
        // second after the timer would have fired.
        let harness = try await Harness.start(["--auth-timeout", "5", "--log-level", "debug"])
        do {
            let started = ContinuousClock.now
            let (client, _) = try await harness.connectAndAuth(transport, user: "alice")
            let event = try await client.poll(for: max(started + .seconds(6) - ContinuousClock.now, .seconds(1)))
            #expect(event == nil, "the server sent \(String(describing: event))")
            try await client.ping(seq: 5)
        } catch {
            // Say what the server saw, so that a rare failure can be understood.
            Issue.record("\(error); the server's log:\n\(harness.server.standardError.suffix(4_000))")
        }
    }

    @Test("a connection to the WebSocket port that never upgrades is closed")
    func silentWebSocketPortConnectionIsClosed() async throws {
        let harness = try await Harness.make()
        // Plain TCP to the WebSocket port, and not a byte sent: no upgrade ever starts. The
        // clock starts before connecting, so it never runs shorter than the server's.
        let started = ContinuousClock.now
        let silent = try await RawClient.connect(.tcp, host: "127.0.0.1", port: harness.server.webSocketPort)
        _ = try await silent.expectClosed(timeout: .seconds(20))
        #expect(ContinuousClock.now - started >= .seconds(9), "closed before the upgrade deadline")
    }
}
