/// What an agent tells its controller (one JSON line each, see ``AgentReply``).
public enum AgentEvent: Sendable {
    /// Sent once, first, when a controller connects: who the agent is.
    case hello(AgentInfo)
    /// The answer to ``AgentCommand/start(target:plan:)``.
    case connected(ConnectOutcome)
    /// The answer to ``AgentCommand/snapshot``.
    case snapshot(AgentSnapshot)
    /// The answer to ``AgentCommand/reset``.
    case reset
    /// The answer to ``AgentCommand/drop``.
    case dropped
    /// The answer to ``AgentCommand/reconnect(rate:)``.
    case reconnected(ConnectOutcome)
    /// The answer to ``AgentCommand/stop``.
    case stopped
    /// A command could not be carried out (or not even read).
    case failed(String)

    /// The `op` of the JSON line.
    public var op: String {
        switch self {
        case .hello: "hello"
        case .connected: "connected"
        case .snapshot: "snapshot"
        case .reset: "reset"
        case .dropped: "dropped"
        case .reconnected: "reconnected"
        case .stopped: "stopped"
        case .failed: "error"
        }
    }
}
