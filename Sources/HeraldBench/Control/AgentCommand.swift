/// What a controller asks an agent to do (one JSON line each, see ``AgentRequest``).
public enum AgentCommand: Sendable {
    /// Open `plan.connections` connections to `target`; answered ``AgentEvent/connected(_:)`` once
    /// every one is authenticated or failed.
    case start(target: BenchTarget, plan: ClientPlan)
    /// Answered at once with ``AgentEvent/snapshot(_:)``.
    case snapshot
    /// Clear the latency histograms; answered ``AgentEvent/reset``.
    case reset
    /// Close every connection (a storm's first half); answered ``AgentEvent/dropped``.
    case drop
    /// Open them all again at `rate` per second (0: at once); answered ``AgentEvent/reconnected(_:)``.
    case reconnect(rate: Double)
    /// Close the pool; answered ``AgentEvent/stopped``.
    case stop

    /// The `op` of the JSON line.
    public var op: String {
        switch self {
        case .start: "start"
        case .snapshot: "snapshot"
        case .reset: "reset"
        case .drop: "drop"
        case .reconnect: "reconnect"
        case .stop: "stop"
        }
    }

    /// Whether the agent answers at once, without waiting on the network.
    var isImmediate: Bool {
        switch self {
        case .snapshot, .reset: true
        case .start, .drop, .reconnect, .stop: false
        }
    }
}
