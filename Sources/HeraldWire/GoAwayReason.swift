/// Why the server ends a session or a connection.
public enum GoAwayReason: String, Sendable, Hashable, CaseIterable, Codable {
    /// A newer session for the same (app, user, device) took over.
    case replaced
    /// The app's backend asked for the session to end.
    case kicked
    /// The node is shutting down: reconnect elsewhere after `retryAfterMs` plus jitter.
    case draining
    /// The node sheds load.
    case overloaded
}
