import HeraldTestUtils
import HeraldWire
import Testing

@Suite struct ZZSmokeTemp {
    @Test(arguments: Transport.allCases) func smoke(transport: Transport) async throws {
        let server = try await HeraldProcess.start(["--heartbeat", "1"])
        #expect(server.node == "fake-1")
        let client = try await RawClient.connect(transport, to: server)
        try await client.ping(seq: 42)
        #expect(try await client.poll(for: .milliseconds(200)) == nil)
        do {
            try await client.auth(token: "x", seq: 5)
            Issue.record("no error")
        } catch let error as RawClientError {
            guard case .serverError(5, let body) = error else { Issue.record("\(error)"); return }
            #expect(body.code == "auth_failed")
        }
        #expect(try await client.expectClosed() == 0)
        let c2 = try await RawClient.connect(transport, to: server)
        try await c2.sendRaw([0,0,0,4,1,1,1,1,1,1,1,1])
        #expect(try await c2.receiveError().body.code == "bad_frame")
        try await c2.expectClosed()
        let c3 = try await RawClient.connect(transport, to: server)
        do { try await c3.expectClosed(timeout: .milliseconds(300)); Issue.record("closed?") } catch RawClientError.timedOut {}
        print(server.standardError)
        #expect(try await server.terminate() == .exited(0))
        try await server.restart()
        try await RawClient.connect(transport, to: server).ping(seq: 1)
        #expect(try await server.kill() == .signalled(9))
    }
}
