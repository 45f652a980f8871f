import HeraldClient
import HeraldWire
import Testing

/// A disconnect reads as a sentence in logs and in `herald listen`, never as an enum dump.
@Suite("Disconnect descriptions")
struct HeraldDisconnectTests {
    @Test(
        "each reason says what happened and what the client does next",
        arguments: [
            (HeraldDisconnect(reason: .connectionLost, reconnectAfter: .milliseconds(1500)),
             "the connection was lost; reconnecting in 1.5 s"),
            (HeraldDisconnect(reason: .closedByClient, reconnectAfter: nil),
             "the client closed the connection; not reconnecting"),
            (HeraldDisconnect(
                reason: .authenticationFailed(ErrorBody(code: "auth_failed", message: "bad signature")),
                reconnectAfter: nil),
             "the server refused the token (auth_failed: bad signature); not reconnecting"),
            (HeraldDisconnect(
                reason: .goaway(GoAway(session: 0, reason: "draining", reconnect: true, retryAfterMs: 0)),
                reconnectAfter: .seconds(2)),
             "the server sent GOAWAY draining; reconnecting in 2 s"),
            (HeraldDisconnect(reason: .connectFailed("connection refused"), reconnectAfter: .milliseconds(250)),
             "the connection could not be opened: connection refused; reconnecting in 250 ms"),
        ])
    func description(disconnect: HeraldDisconnect, expected: String) {
        #expect(disconnect.description == expected)
        #expect(!disconnect.description.contains("HeraldDisconnect"))
    }
}
