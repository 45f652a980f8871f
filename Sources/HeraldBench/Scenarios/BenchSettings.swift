/// Everything a bench run was told (no secrets), kept in its report.
public struct BenchSettings: Sendable, Codable, Hashable {
    /// Which scenario.
    public var scenario: BenchScenario
    /// The case the run started from: the defaults of ``clientScheduling``, ``httpConnections``
    /// and ``pipeline`` (each may have been given otherwise; ``presetMatched`` tells the case
    /// the run actually was).
    public var preset: BenchPreset
    /// Client connections in all.
    public var connections: Int
    /// Local worker processes.
    public var workers: Int
    /// Agents elsewhere, `host:port`.
    public var agents: [String]
    /// The scheduling policy of the local workers' client threads.
    public var clientScheduling: ClientScheduling
    /// TCP or WebSocket.
    public var transport: BenchTransport
    /// Local addresses the clients bind, round-robin.
    public var sourceAddresses: [String]
    /// The scenario's rate: connections per second for connect, idle and storm (the storm's
    /// reconnects); pushes per second for unicast and qos1, and for mixed's unicasts;
    /// broadcasts or publishes per second for the sustained part of broadcast and topic.
    /// 0: as fast as possible.
    public var rate: Double
    /// Connections per second while the pushing scenarios set up their clients (0: at once).
    public var connectRate: Double
    /// Seconds the measured part lasts (idle: how long the connections are held).
    public var duration: Double
    /// Single broadcasts or publishes (broadcast, topic), one after the other, whose time
    /// until the last client has it is reported as their median: one is a noisy sample.
    public var singles: Int
    /// Messages per batch request (unicast, qos1, mixed's unicasts; mixed sends each push as a
    /// request of its own to `POST /v1/apps/{app}/messages` when this is 1).
    public var batch: Int
    /// Bytes of each payload (at least the 12-byte timestamp header).
    public var payloadSize: Int
    /// HTTP connections the controller pushes through (mixed: its broadcasts; the unicasts have
    /// one more of their own).
    public var httpConnections: Int
    /// Requests each HTTP connection keeps in flight, pipelined, when the scenario pushes back
    /// to back (`rate` 0): a real backend publishes through one keep-alive connection with many
    /// requests out, not through many connections with one each. Runs at a `rate` send requests
    /// as they fall due (up to ``maximumPipeline`` unanswered on a connection) instead.
    public var pipeline: Int
    /// Seconds between client PINGs (0: the server's interval).
    public var heartbeatSeconds: Int
    /// The topic of the topic scenario.
    public var topic: String
    /// User ids are this prefix and a number.
    public var userPrefix: String
    /// The server's process ids (one per node of a cluster on this machine), for /proc
    /// sampling when it runs on this machine: memory and CPU are summed over them.
    public var serverPIDs: [Int32]
    /// Whether each client connects to the node `GET /v1/dispatch` names first for its user,
    /// as devices in a cluster do, rather than all to one endpoint.
    public var viaDispatch: Bool

    /// Settings with the defaults of `herald-bench`.
    ///
    /// `clientScheduling`, `httpConnections` and `pipeline` default to `preset`'s; any given
    /// here wins over it.
    public init(
        scenario: BenchScenario,
        preset: BenchPreset = .favourable,
        connections: Int = 1000,
        workers: Int? = nil,
        agents: [String] = [],
        clientScheduling: ClientScheduling? = nil,
        transport: BenchTransport = .tcp,
        sourceAddresses: [String] = [],
        rate: Double = 0,
        connectRate: Double = 0,
        duration: Double = 10,
        singles: Int = 10,
        batch: Int = 100,
        payloadSize: Int = 32,
        httpConnections: Int? = nil,
        pipeline: Int? = nil,
        heartbeatSeconds: Int = 30,
        topic: String = "bench",
        userPrefix: String = "u",
        serverPIDs: [Int32] = [],
        viaDispatch: Bool = false
    ) {
        self.scenario = scenario
        self.preset = preset
        self.connections = connections
        self.workers = workers ?? (agents.isEmpty ? Self.defaultWorkers(connections: connections) : 0)
        self.agents = agents
        self.clientScheduling = clientScheduling ?? preset.clientScheduling
        self.transport = transport
        self.sourceAddresses = sourceAddresses
        self.rate = rate
        self.connectRate = connectRate
        self.duration = duration
        self.singles = singles
        self.batch = batch
        self.payloadSize = payloadSize
        self.httpConnections = httpConnections ?? preset.httpConnections(scenario)
        self.pipeline = pipeline ?? preset.pipeline
        self.heartbeatSeconds = heartbeatSeconds
        self.topic = topic
        self.userPrefix = userPrefix
        self.serverPIDs = serverPIDs
        self.viaDispatch = viaDispatch
    }

    /// The first of ``serverPIDs``, if any.
    public var serverPID: Int32? { self.serverPIDs.first }

    /// Connections one worker process holds by default: as many as its open files allow here
    /// (20,000 less ``BenchClientPool/reservedFileDescriptors``). The clients share the
    /// server's cores, and each extra process costs them threads and context switches: one
    /// worker instead of two made one broadcast to 19,000 clients about 20 ms faster.
    public static let connectionsPerWorker = 19_000

    /// One worker per ``connectionsPerWorker`` connections, at least one.
    public static func defaultWorkers(connections: Int) -> Int {
        max(1, (connections + Self.connectionsPerWorker - 1) / Self.connectionsPerWorker)
    }

    /// Several for the push scenarios (requests overlap). Many for fan-out, mixed's broadcasts
    /// included: sustained fan-out is measured with the server saturated, which takes more
    /// messages in flight than one flush pass over every connection lasts (a pass writes each
    /// connection once, however many messages arrived while the previous one ran).
    static func defaultHTTPConnections(_ scenario: BenchScenario) -> Int {
        switch scenario {
        case .unicast, .qos1: 8
        case .broadcast, .topic, .mixed: 32
        case .connect, .idle, .storm: 1
        }
    }

    /// The most requests one HTTP connection may keep in flight (as many as an open-loop run
    /// lets one have, ``BenchHTTPLoad/maximumInFlight``'s default).
    public static let maximumPipeline = 1_024

    /// The preset whose client scheduling, HTTP connections and pipeline these settings have,
    /// whichever options set them; nil for any other mix.
    public var presetMatched: BenchPreset? {
        BenchPreset.allCases.first { preset in
            preset.clientScheduling == self.clientScheduling
                && preset.httpConnections(self.scenario) == self.httpConnections
                && preset.pipeline == self.pipeline
        }
    }

    /// Why these settings cannot run, if they cannot.
    public var problem: String? {
        if self.connections < 1 { return "--connections must be at least 1" }
        if self.workers < 0 { return "--workers must be at least 0" }
        if self.workers == 0 && self.agents.isEmpty { return "give --workers or --agents to run the clients" }
        if !self.rate.isFinite || self.rate < 0 { return "--rate must be at least 0" }
        if !self.connectRate.isFinite || self.connectRate < 0 { return "--connect-rate must be at least 0" }
        if !self.duration.isFinite || self.duration <= 0 { return "--duration must be more than 0" }
        if !(1...100).contains(self.singles) { return "--singles must be 1 to 100" }
        if !(1...1000).contains(self.batch) { return "--batch must be 1 to 1000" }
        if self.payloadSize < BenchPayload.headerSize || self.payloadSize > 1_000_000 {
            return "--payload-size must be \(BenchPayload.headerSize) to 1000000"
        }
        if !(1...1024).contains(self.httpConnections) { return "--http-connections must be 1 to 1024" }
        if !(1...Self.maximumPipeline).contains(self.pipeline) {
            return "--pipeline must be 1 to \(Self.maximumPipeline)"
        }
        if self.heartbeatSeconds < 0 { return "--heartbeat must be at least 0" }
        if self.topic.isEmpty || self.topic.contains("*") || self.topic.utf8.count > 255 {
            return "--topic must be 1 to 255 bytes without *"
        }
        let allowed = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-")
        if self.userPrefix.isEmpty || self.userPrefix.count > 64 || !self.userPrefix.allSatisfy(allowed.contains) {
            return "--user-prefix must be 1 to 64 of A-Z a-z 0-9 . _ -"
        }
        return nil
    }

    /// Every agent's share: connections split evenly (the first ones take the remainder),
    /// consecutive user ranges, the rate split in proportion, source addresses rotated so
    /// that agents start on different ones; with a `layout`, each connection goes to its
    /// user's node.
    public func plans(
        agents: Int, connectRate: Double, topics: [String], acknowledge: Bool, layout: ClusterLayout? = nil
    ) -> [ClientPlan] {
        precondition(agents > 0, "at least one agent")
        var plans: [ClientPlan] = []
        var firstUser = 0
        for index in 0..<agents {
            let share = self.connections / agents + (index < self.connections % agents ? 1 : 0)
            let rotation = self.sourceAddresses.isEmpty ? 0 : index % self.sourceAddresses.count
            let addresses = Array(self.sourceAddresses[rotation...] + self.sourceAddresses[..<rotation])
            plans.append(
                ClientPlan(
                    connections: share,
                    firstUser: firstUser,
                    userPrefix: self.userPrefix,
                    transport: self.transport,
                    sourceAddresses: addresses,
                    connectRate: connectRate > 0 && self.connections > 0
                        ? connectRate * Double(share) / Double(self.connections) : 0,
                    heartbeatSeconds: self.heartbeatSeconds,
                    topics: topics,
                    acknowledge: acknowledge,
                    nodes: layout?.assignment(firstUser: firstUser, count: share)
                )
            )
            firstUser += share
        }
        return plans
    }
}
