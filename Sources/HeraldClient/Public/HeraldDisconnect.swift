import HeraldWire

/// Why a connection ended, and whether the client reconnects.
public struct HeraldDisconnect: Sendable, Hashable {
    /// Why a connection ended.
    public enum Reason: Sendable, Hashable {
        /// ``HeraldClient/close()`` was called, or the task running ``HeraldClient/run()`` was cancelled.
        case closedByClient
        /// The connection could not be opened (TCP connect or WebSocket upgrade failed).
        case connectFailed(String)
        /// The connection closed without a GOAWAY or an ERROR.
        case connectionLost
        /// No frame answered a PING within one heartbeat interval.
        case heartbeatTimeout
        /// No AUTH_OK arrived within the request timeout.
        case authenticationTimeout
        /// The server refused the token (`auth_failed`, `token_expired`, `unknown_app`): the client stops.
        case authenticationFailed(ErrorBody)
        /// The server sent an ERROR that closes the connection (for example `server_busy`).
        case serverError(ErrorBody)
        /// The server sent GOAWAY.
        case goaway(GoAway)
        /// The server broke the protocol (an undecodable or unexpected frame).
        case protocolViolation(String)
    }

    /// Why the connection ended.
    public var reason: Reason
    /// When the client reconnects; `nil` when it has stopped for good.
    public var reconnectAfter: Duration?

    /// Creates a disconnect description.
    public init(reason: Reason, reconnectAfter: Duration?) {
        self.reason = reason
        self.reconnectAfter = reconnectAfter
    }
}
