import NIOCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Everything a run found, written as the JSON report and shown as the final table.
public struct BenchReport: Sendable, Codable {
    /// The scenario run.
    public var scenario: BenchScenario
    /// When the run started, ISO 8601 UTC.
    public var startedAt: String
    /// What the run was told.
    public var settings: BenchSettings
    /// The API, client endpoint and app driven.
    public var api: String
    public var endpoint: String
    public var app: String
    /// The controller's machine.
    public var host: String
    public var cores: Int
    /// The agents.
    public var agents: [AgentFigures]
    /// The connect phase: every agent's outcome merged.
    public var connect: ConnectOutcome
    /// The results, in the order the table shows them.
    public var figures: [Figure]
    /// Latency percentiles: delivery latency per push kind, and `api` for HTTP requests.
    public var latency: [LatencyFigures]
    /// HTTP requests made by the measured part, if any.
    public var http: HTTPFigures?
    /// The server's memory and CPU.
    public var server: ServerFigures
    /// CPU seconds of the controller process over the measured part.
    public var controllerCPUSeconds: Double?
    /// Seconds the measured part lasted (the window CPU figures cover).
    public var measuredSeconds: Double
    /// Which side limited the run.
    public var bottleneck: Bottleneck
    /// The clients' counters at the end.
    public var clients: ClientCounters
    /// Anything worth knowing that is not a figure (failures, warnings).
    public var notes: [String]
    /// In a run spread over a cluster: the clients per node and the deliveries that crossed nodes.
    public var cluster: ClusterFigures?

    /// Creates a report.
    public init(
        scenario: BenchScenario,
        startedAt: String,
        settings: BenchSettings,
        api: String,
        endpoint: String,
        app: String,
        host: String,
        cores: Int,
        agents: [AgentFigures],
        connect: ConnectOutcome,
        figures: [Figure],
        latency: [LatencyFigures],
        http: HTTPFigures?,
        server: ServerFigures,
        controllerCPUSeconds: Double?,
        measuredSeconds: Double,
        bottleneck: Bottleneck,
        clients: ClientCounters,
        notes: [String],
        cluster: ClusterFigures? = nil
    ) {
        self.scenario = scenario
        self.startedAt = startedAt
        self.settings = settings
        self.api = api
        self.endpoint = endpoint
        self.app = app
        self.host = host
        self.cores = cores
        self.agents = agents
        self.connect = connect
        self.figures = figures
        self.latency = latency
        self.http = http
        self.server = server
        self.controllerCPUSeconds = controllerCPUSeconds
        self.measuredSeconds = measuredSeconds
        self.bottleneck = bottleneck
        self.clients = clients
        self.notes = notes
        self.cluster = cluster
    }

    /// The figure with `key`, if the run has it.
    public func figure(_ key: String) -> Figure? {
        self.figures.first { $0.key == key }
    }

    /// The latency figures of `kind`, if any.
    public func latency(_ kind: String) -> LatencyFigures? {
        self.latency.first { $0.kind == kind }
    }

    /// The report as pretty JSON, keys sorted.
    public func json() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        var data = try encoder.encode(self)
        data.append(UInt8(ascii: "\n"))
        return data
    }
}
