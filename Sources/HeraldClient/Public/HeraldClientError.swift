import HeraldWire

/// The errors of ``HeraldClient``'s requests and of ``HeraldClient/run()``.
///
/// A struct with an opaque ``Code`` rather than an enum, so that a later release can add
/// a kind of error without breaking code that switches over them: compare ``code`` with the
/// codes you handle and treat the rest alike.
///
/// ```swift
/// do {
///     try await client.subscribe(["news"])
/// } catch let error as HeraldClientError where error.code == .server {
///     print("refused: \(error.serverError?.code ?? "")")
/// }
/// ```
public struct HeraldClientError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What kind of error this is.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        fileprivate enum Base: Sendable, Hashable {
            case server
            case notConnected
            case timedOut
            case connectionClosed
            case finished
            case alreadyRunning
            case authenticationFailed
            case sessionEnded
            case invalidURL
        }

        fileprivate let base: Base

        private init(_ base: Base) {
            self.base = base
        }

        /// The server answered the request with ERROR; ``HeraldClientError/serverError`` holds it.
        public static let server = Code(.server)
        /// The client has no authenticated connection at the moment.
        public static let notConnected = Code(.notConnected)
        /// No answer arrived within ``HeraldClientConfiguration/requestTimeout``.
        public static let timedOut = Code(.timedOut)
        /// The connection ended before the answer arrived; the request may or may not have been applied.
        public static let connectionClosed = Code(.connectionClosed)
        /// The client stopped: ``HeraldClient/close()`` was called or ``HeraldClient/run()`` ended.
        public static let finished = Code(.finished)
        /// ``HeraldClient/run()`` was called a second time.
        public static let alreadyRunning = Code(.alreadyRunning)
        /// The server refused the token (`auth_failed`, `token_expired`, `unknown_app`);
        /// ``HeraldClientError/serverError`` holds its answer.
        public static let authenticationFailed = Code(.authenticationFailed)
        /// The server ended the session for good (GOAWAY `replaced` or `kicked`, or `reconnect`
        /// false); ``HeraldClientError/goaway`` holds it.
        public static let sessionEnded = Code(.sessionEnded)
        /// The configured WebSocket URL is not a `ws://` or `wss://host[:port][/path]` URL;
        /// ``HeraldClientError/rejectedURL`` holds it.
        public static let invalidURL = Code(.invalidURL)

        public var description: String {
            switch self.base {
            case .server: "server error"
            case .notConnected: "not connected"
            case .timedOut: "request timed out"
            case .connectionClosed: "connection closed before the answer arrived"
            case .finished: "client is finished"
            case .alreadyRunning: "run() was already called"
            case .authenticationFailed: "authentication failed"
            case .sessionEnded: "session ended by the server"
            case .invalidURL: "invalid WebSocket URL"
            }
        }
    }

    /// What kind of error this is.
    public let code: Code
    /// The server's ERROR, for ``Code/server`` and ``Code/authenticationFailed``.
    public let serverError: ErrorBody?
    /// The server's GOAWAY, for ``Code/sessionEnded``.
    public let goaway: GoAway?
    /// The URL that was refused, for ``Code/invalidURL``.
    public let rejectedURL: String?

    private init(_ code: Code, serverError: ErrorBody? = nil, goaway: GoAway? = nil, rejectedURL: String? = nil) {
        self.code = code
        self.serverError = serverError
        self.goaway = goaway
        self.rejectedURL = rejectedURL
    }

    /// The server answered the request with `body`.
    public static func server(_ body: ErrorBody) -> Self { Self(.server, serverError: body) }
    /// The client has no authenticated connection at the moment.
    public static var notConnected: Self { Self(.notConnected) }
    /// No answer arrived in time.
    public static var timedOut: Self { Self(.timedOut) }
    /// The connection ended before the answer arrived.
    public static var connectionClosed: Self { Self(.connectionClosed) }
    /// The client stopped.
    public static var finished: Self { Self(.finished) }
    /// ``HeraldClient/run()`` was called a second time.
    public static var alreadyRunning: Self { Self(.alreadyRunning) }
    /// The server refused the token with `body`.
    public static func authenticationFailed(_ body: ErrorBody) -> Self { Self(.authenticationFailed, serverError: body) }
    /// The server ended the session for good with `goaway`.
    public static func sessionEnded(_ goaway: GoAway) -> Self { Self(.sessionEnded, goaway: goaway) }
    /// `url` is not a `ws://host[:port][/path]` URL.
    public static func invalidURL(_ url: String) -> Self { Self(.invalidURL, rejectedURL: url) }

    public var description: String {
        if let body = self.serverError { return "\(self.code): \(body.code): \(body.message)" }
        if let goaway = self.goaway { return "\(self.code): \(goaway.reason)" }
        if let url = self.rejectedURL { return "\(self.code): \(url)" }
        return self.code.description
    }
}
