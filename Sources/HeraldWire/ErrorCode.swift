/// The protocol's error codes (docs/protocol.md, "Errors and GOAWAY"), carried in the `code` field of an ERROR body.
public enum ErrorCode: String, Sendable, Hashable, CaseIterable, Codable {
    case badFrame = "bad_frame"
    case frameTooLarge = "frame_too_large"
    case unsupportedVersion = "unsupported_version"
    case unknownOp = "unknown_op"
    case authRequired = "auth_required"
    case authTimeout = "auth_timeout"
    case authFailed = "auth_failed"
    case tokenExpired = "token_expired"
    case unknownApp = "unknown_app"
    case tooManySessions = "too_many_sessions"
    case unknownSession = "unknown_session"
    case forbiddenTopic = "forbidden_topic"
    case rateLimited = "rate_limited"
    case serverBusy = "server_busy"
    case upstreamUnavailable = "upstream_unavailable"
    case `internal` = "internal"

    /// Whether the server closes the connection after sending this error.
    ///
    /// `hasSessions` is whether the connection has at least one open session: the
    /// authentication errors close only a connection that has none.
    public func closesConnection(hasSessions: Bool) -> Bool {
        switch self {
        case .badFrame, .frameTooLarge, .unsupportedVersion, .unknownOp, .authRequired, .authTimeout, .serverBusy:
            true
        case .authFailed, .tokenExpired, .unknownApp:
            !hasSessions
        case .tooManySessions, .unknownSession, .forbiddenTopic, .rateLimited, .upstreamUnavailable, .internal:
            false
        }
    }
}
