/// The scenarios `herald-bench` runs.
public enum BenchScenario: String, Sendable, Codable, CaseIterable {
    /// Open N connections at a rate: accept plus AUTH rate and failures.
    case connect
    /// Hold N connections: the server's memory per connection.
    case idle
    /// QoS 0 pushes through the batch endpoint to random online users: rate and latency.
    case unicast
    /// One broadcast to all N (time until the last has it), then broadcasts back to back.
    case broadcast
    /// The same with every client subscribed to one topic.
    case topic
    /// QoS 1 pushes (stored, then delivered and acknowledged): stored pushes per second and latency.
    case qos1
    /// QoS 0 unicasts at `--rate` on an HTTP connection of their own, their delivery latency
    /// measured while broadcasts to all N go back to back on the others.
    case mixed
    /// Drop every connection and reconnect them all at once.
    case storm

    /// One line for `--help`.
    public var summary: String {
        switch self {
        case .connect: "open N connections at --rate: connect+AUTH rate"
        case .idle: "hold N connections: server memory per connection"
        case .unicast: "QoS 0 batch pushes at --rate to random users"
        case .broadcast: "one broadcast to all N, then broadcasts back to back"
        case .topic: "the same through one topic all clients subscribe to"
        case .qos1: "QoS 1 batch pushes: stored pushes per second, latency"
        case .mixed: "QoS 0 unicasts at --rate while broadcasts go back to back"
        case .storm: "drop all, reconnect at once: time until all are back"
        }
    }

    /// Whether the scenario pushes messages (and so has a delivery-latency table).
    var pushes: Bool {
        switch self {
        case .unicast, .broadcast, .topic, .qos1, .mixed: true
        case .connect, .idle, .storm: false
        }
    }
}
