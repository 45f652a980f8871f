import HeraldTestUtils
import HeraldWire
import Testing

/// The idle timeout: a connection silent for `2 × heartbeat + 10` seconds is closed.
@Suite("Heartbeat", .timeLimit(.minutes(1)))
struct HeartbeatTests {
    @Test("with --heartbeat 1 a silent connection closes after about 12 s; a PINGing one stays", arguments: Transport.allCases)
    func idleTimeout(transport: Transport) async throws {
        let harness = try await Harness.start(["--heartbeat", "1"])
        // The silence starts when the server reads the AUTH, somewhere within the exchange:
        // measured from its start, as a busy machine can take more than the one second of
        // slack the check allows between sending the AUTH and reading AUTH_OK.
        let start = ContinuousClock.now
        let (silent, ok) = try await harness.connectAndAuth(transport, user: "silent")
        let (talker, _) = try await harness.connectAndAuth(transport, user: "talker")
        #expect(ok.heartbeat == 1)
        let idleLimit = Duration.seconds(2 * 1 + 10)

        async let pinging: Void = Self.ping(talker, every: .milliseconds(500), for: idleLimit + .seconds(3))

        try await silent.expectClosed(timeout: idleLimit + .seconds(5))
        let closedAfter = ContinuousClock.now - start
        #expect(closedAfter >= idleLimit - .seconds(1), "closed after \(closedAfter), before 2 × heartbeat + 10 s")

        try await pinging
        #expect(ContinuousClock.now - start > idleLimit + .seconds(2))
        #expect(talker.isActive)
        #expect(try await harness.api.push(harness.app, users: ["talker"], payload: .text("alive")).sessions == 1)
        #expect(try await talker.receivePush().body.payloadBytes == Array("alive".utf8))
    }

    /// PINGs `client` every `interval` for `duration`, checking every PONG.
    private static func ping(_ client: RawClient, every interval: Duration, for duration: Duration) async throws {
        let end = ContinuousClock.now + duration
        var seq: UInt32 = 0
        while ContinuousClock.now < end {
            seq += 1
            try await client.ping(seq: seq)
            try await Task.sleep(for: interval)
        }
    }
}
