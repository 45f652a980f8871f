import HeraldClient
import HeraldWire
import Testing

@Suite struct HeraldClientErrorTests {
    @Test func codesCompareAndCarryTheirDetails() {
        let body = ErrorBody(code: "forbidden_topic", message: "topic news is not allowed")
        let error = HeraldClientError.server(body)
        #expect(error.code == .server)
        #expect(error.serverError == body)
        #expect(error.goaway == nil)
        #expect(error == .server(body))
        #expect(error != .server(ErrorBody(code: "rate_limited", message: "slow down")))
        #expect(error != .authenticationFailed(body))

        let goaway = GoAway(session: 1, reason: "kicked", reconnect: false)
        #expect(HeraldClientError.sessionEnded(goaway).goaway == goaway)
        #expect(HeraldClientError.sessionEnded(goaway).code == .sessionEnded)
        #expect(HeraldClientError.invalidURL("http://x").rejectedURL == "http://x")
        #expect(HeraldClientError.notConnected.code == .notConnected)
        #expect(HeraldClientError.notConnected != .timedOut)
    }

    @Test func descriptionsReadAsSentences() {
        let body = ErrorBody(code: "auth_failed", message: "bad signature")
        #expect(HeraldClientError.authenticationFailed(body).description == "authentication failed: auth_failed: bad signature")
        #expect(HeraldClientError.server(body).description == "server error: auth_failed: bad signature")
        #expect(HeraldClientError.sessionEnded(GoAway(session: 1, reason: "replaced", reconnect: false)).description
                == "session ended by the server: replaced")
        #expect(HeraldClientError.invalidURL("http://x").description == "invalid WebSocket URL: http://x")
        #expect(HeraldClientError.timedOut.description == "request timed out")
        #expect(HeraldClientError.Code.connectionClosed.description == "connection closed before the answer arrived")
    }

    @Test func callersMatchOnTheCodeAlone() {
        let errors: [any Error] = [HeraldClientError.timedOut, HeraldClientError.connectionClosed, HeraldClientError.notConnected]
        let retryable = errors.filter { error in
            guard let error = error as? HeraldClientError else { return false }
            return [HeraldClientError.Code.timedOut, .connectionClosed].contains(error.code)
        }
        #expect(retryable.count == 2)
    }
}
