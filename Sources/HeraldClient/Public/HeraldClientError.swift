import HeraldWire

/// The errors of ``HeraldClient``'s requests and of ``HeraldClient/run()``.
public enum HeraldClientError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The server answered the request with ERROR.
    case server(ErrorBody)
    /// The client has no authenticated connection at the moment.
    case notConnected
    /// No answer arrived within ``HeraldClientConfiguration/requestTimeout``.
    case timedOut
    /// The connection ended before the answer arrived; the request may or may not have been applied.
    case connectionClosed
    /// The client stopped: ``HeraldClient/close()`` was called or ``HeraldClient/run()`` ended.
    case finished
    /// ``HeraldClient/run()`` was called a second time.
    case alreadyRunning
    /// The server refused the token (`auth_failed`, `token_expired`, `unknown_app`).
    case authenticationFailed(ErrorBody)
    /// The server ended the session for good (GOAWAY `replaced` or `kicked`, or `reconnect` false).
    case sessionEnded(GoAway)
    /// The configured WebSocket URL is not a `ws://host[:port][/path]` URL.
    case invalidURL(String)

    public var description: String {
        switch self {
        case .server(let body): "server error \(body.code): \(body.message)"
        case .notConnected: "not connected"
        case .timedOut: "request timed out"
        case .connectionClosed: "connection closed before the answer arrived"
        case .finished: "client is finished"
        case .alreadyRunning: "run() was already called"
        case .authenticationFailed(let body): "authentication failed: \(body.code): \(body.message)"
        case .sessionEnded(let goaway): "session ended by the server: \(goaway.reason)"
        case .invalidURL(let url): "invalid WebSocket URL: \(url)"
        }
    }
}
