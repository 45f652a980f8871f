/// The body of GOAWAY. `session` 0 ends the whole connection.
public struct GoAway: Codable, Sendable, Hashable {
    public var session: UInt16
    /// Kept as text so that a client can read reasons it does not know.
    public var reason: String
    public var reconnect: Bool
    public var retryAfterMs: Int

    public init(session: UInt16, reason: String, reconnect: Bool, retryAfterMs: Int = 0) {
        self.session = session
        self.reason = reason
        self.reconnect = reconnect
        self.retryAfterMs = retryAfterMs
    }

    public init(session: UInt16, reason: GoAwayReason, reconnect: Bool, retryAfterMs: Int = 0) {
        self.init(session: session, reason: reason.rawValue, reconnect: reconnect, retryAfterMs: retryAfterMs)
    }

    /// The reason, if it is one this implementation knows.
    public var knownReason: GoAwayReason? { GoAwayReason(rawValue: self.reason) }
}
