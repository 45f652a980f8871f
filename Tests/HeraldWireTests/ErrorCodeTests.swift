import HeraldWire
import Testing

@Suite struct ErrorCodeTests {
    /// docs/protocol.md, "Errors and GOAWAY": (code, closes without sessions, closes with sessions).
    static let table: [(String, Bool, Bool)] = [
        ("bad_frame", true, true),
        ("frame_too_large", true, true),
        ("unsupported_version", true, true),
        ("unknown_op", true, true),
        ("auth_required", true, true),
        ("auth_timeout", true, true),
        ("auth_failed", true, false),
        ("token_expired", true, false),
        ("unknown_app", true, false),
        ("too_many_sessions", false, false),
        ("unknown_session", false, false),
        ("forbidden_topic", false, false),
        ("rate_limited", false, false),
        ("server_busy", true, true),
        ("upstream_unavailable", false, false),
        ("internal", false, false),
    ]

    @Test func everyCodeIsInTheTable() {
        #expect(ErrorCode.allCases.map(\.rawValue) == Self.table.map(\.0))
    }

    @Test func closesConnection() throws {
        for (name, withoutSessions, withSessions) in Self.table {
            let code = try #require(ErrorCode(rawValue: name))
            #expect(code.closesConnection(hasSessions: false) == withoutSessions, "\(name) without sessions")
            #expect(code.closesConnection(hasSessions: true) == withSessions, "\(name) with sessions")
        }
    }
}
