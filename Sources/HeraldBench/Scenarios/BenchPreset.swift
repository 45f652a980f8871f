/// A named case of how the controller publishes and how the clients are scheduled: the
/// defaults that `--client-scheduling`, `--http-connections` and `--pipeline` fall back to.
///
/// The bench's own defaults are the case most favourable to the server: many HTTP connections
/// with one request in flight on each, and client threads under SCHED_BATCH, which never
/// preempt the server. A real backend publishes through one keep-alive connection with many
/// requests pipelined, and its devices are plain processes under ordinary scheduling:
/// ``ordinaryPublisher`` reproduces that.
public enum BenchPreset: String, Sendable, Codable, Hashable, CaseIterable {
    /// The bench's defaults: several HTTP connections (see ``BenchSettings/defaultHTTPConnections(_:)``),
    /// one request in flight on each; client threads under SCHED_BATCH.
    case favourable
    /// One HTTP connection with 48 requests pipelined; client threads under SCHED_OTHER.
    case ordinaryPublisher = "ordinary-publisher"

    /// The client threads' scheduling.
    public var clientScheduling: ClientScheduling {
        switch self {
        case .favourable: .batch
        case .ordinaryPublisher: .normal
        }
    }

    /// Requests each HTTP connection keeps in flight when pushing back to back.
    public var pipeline: Int {
        switch self {
        case .favourable: 1
        case .ordinaryPublisher: 48
        }
    }

    /// HTTP connections the controller pushes through in `scenario`.
    public func httpConnections(_ scenario: BenchScenario) -> Int {
        switch self {
        case .favourable: BenchSettings.defaultHTTPConnections(scenario)
        case .ordinaryPublisher: 1
        }
    }

    /// What the report calls the case.
    public var title: String {
        switch self {
        case .favourable: "favourable"
        case .ordinaryPublisher: "ordinary publisher"
        }
    }

    /// One line for `--help` (short enough for its 80 columns).
    public var summary: String {
        switch self {
        case .favourable: "the defaults: several HTTP connections, SCHED_BATCH"
        case .ordinaryPublisher: "one HTTP connection, 48 requests pipelined, SCHED_OTHER"
        }
    }
}
