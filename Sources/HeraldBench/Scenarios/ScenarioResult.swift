/// What a scenario found, before the controller adds what every run has.
struct ScenarioResult: Sendable {
    /// The connect phase (the measured part for connect, the setup for the others).
    var connect: ConnectOutcome
    var figures: [Figure] = []
    var latency: [LatencyFigures] = []
    var http: HTTPFigures?
    var server = ServerFigures()
    /// CPU over the measured part.
    var usage: CPUUsage
    var notes: [String] = []
    /// In a run spread over a cluster, the deliveries the measured part asked for and how many
    /// crossed nodes (nil when it pushed nothing).
    var crossNode: CrossNodeTally.Counts?
}
