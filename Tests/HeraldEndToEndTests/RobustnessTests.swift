import HeraldTestUtils
import HeraldWire
import Testing

/// Hostile and broken clients must not hurt the server or other clients.
@Suite("Robustness", .timeLimit(.minutes(2)))
struct RobustnessTests {
    @Test("a client that never reads is closed; memory stays bounded; others still work", arguments: Transport.allCases)
    func slowReader(transport: Transport) async throws {
        let harness = try await Harness.start(["--max-outbound-bytes", "65536"])
        let slow = try await RawClient.connect(transport, to: harness.server, receiveBufferSize: 4_096)
        try await slow.auth(token: try await harness.token(user: "slow"))
        try await slow.stopReading()
        let (normal, _) = try await harness.connectAndAuth(transport, user: "normal")
        let rssBefore = harness.server.residentMemoryBytes()

        let payload = Payload.text(String(repeating: "x", count: 30_000))
        var pushed = 0
        var reachedAfterClose = false
        // At most 2000 × 30 KB = 60 MB; the server must give up on the reader long before.
        while pushed < 2_000 {
            let result = try await harness.api.push(harness.app, users: ["slow"], payload: payload)
            pushed += 1
            if result.sessions == 0 {
                reachedAfterClose = true
                break
            }
        }
        #expect(reachedAfterClose, "the slow reader was still connected after \(pushed) pushes of 30 KB")

        // The client finds the close once it reads again (after whatever was in flight).
        try await slow.resumeReading()
        let drained = try await slow.expectClosed(timeout: .seconds(15))
        #expect(drained < pushed, "\(drained) frames were delivered of \(pushed) pushed")

        let rssAfter = harness.server.residentMemoryBytes()
        if let rssBefore, let rssAfter {
            #expect(rssAfter < rssBefore + 64 << 20, "RSS grew from \(rssBefore) to \(rssAfter) bytes")
        }
        #expect(try await harness.api.health() == 200)
        #expect(try await harness.api.push(harness.app, users: ["normal"], payload: .text("fine")).sessions == 1)
        #expect(try await normal.receivePush().body.payloadBytes == Array("fine".utf8))
        let (late, _) = try await harness.connectAndAuth(transport, user: "late")
        try await late.ping(seq: 1)
    }

    @Test("a burst of garbage connections leaves the server serving")
    func garbageBurst() async throws {
        let harness = try await Harness.start()
        var generator = SystemRandomNumberGenerator()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<24 {
                let transport: Transport = index.isMultiple(of: 2) ? .tcp : .webSocket
                let bytes: [UInt8]
                switch index % 4 {
                case 0, 1:
                    bytes = (0..<Int.random(in: 1...200, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }
                case 2:
                    bytes = rawFrame(op: 1, body: (0..<100).map { _ in UInt8.random(in: 0...255, using: &generator) })
                default:
                    bytes = rawFrame(op: 10, body: Array(#"{"session":"one","topics":7}"#.utf8))
                }
                group.addTask {
                    let client = try await harness.connect(transport)
                    try? await client.sendRaw(bytes)
                    // Random bytes may form a valid-looking partial header the server waits on; close
                    // from this side then. Otherwise the server closes, usually after an ERROR.
                    if (try? await client.expectClosed(timeout: .seconds(3))) == nil {
                        await client.close()
                    }
                }
            }
            try await group.waitForAll()
        }
        #expect(harness.server.isRunning)
        #expect(try await harness.api.health() == 200)
        let (client, ok) = try await harness.connectAndAuth(.tcp, user: "alice")
        #expect(ok.session == 1)
        #expect(try await harness.api.push(harness.app, users: ["alice"], payload: .text("after")).sessions == 1)
        #expect(try await client.receivePush().body.payloadBytes == Array("after".utf8))
        let (webClient, _) = try await harness.connectAndAuth(.webSocket, user: "bob")
        try await webClient.ping(seq: 2)
    }
}
