/// Reads the server's figures: its own `GET /v1/stats` (needs the admin key) and, when it
/// runs on this machine, `/proc/PID` (needs `--server-pid`).
struct ServerProbe: Sendable {
    /// One reading; nil where a source is missing.
    struct Sample: Sendable {
        var procResident: Int?
        var cpuSeconds: Double?
        var statsResident: Int?
        var connections: Int?
        var sessions: Int?
    }

    let http: ControlHTTP
    let adminKey: String?
    /// The server's processes on this machine: one, or the nodes of a cluster.
    let pids: [Int32]

    /// The first of ``pids``, which the report names.
    var pid: Int32? { self.pids.first }

    /// Reads every source there is.
    func sample() async -> Sample {
        var sample = self.procSample()
        if let stats = await self.stats() {
            sample.statsResident = stats.residentBytes
            sample.connections = stats.connections
            sample.sessions = stats.sessions
        }
        return sample
    }

    /// /proc only: cheap enough to poll often.
    func procSample() -> Sample {
        Sample(procResident: self.residentBytes(), cpuSeconds: self.cpuSeconds())
    }

    /// The resident set of every process, summed; nil unless every one could be read.
    func residentBytes() -> Int? {
        Self.sum(self.pids.map { ProcessStats.residentBytes(pid: $0) })
    }

    /// CPU seconds of every process, summed; nil unless every one could be read.
    func cpuSeconds() -> Double? {
        Self.sum(self.pids.map { ProcessStats.cpuSeconds(pid: $0) })
    }

    /// Every process's threads; with several processes each name says whose it is.
    func threads() -> [ThreadCPU] {
        guard self.pids.count > 1 else { return self.pids.flatMap { ProcessStats.threads(pid: $0) } }
        return self.pids.flatMap { pid in
            ProcessStats.threads(pid: pid).map {
                ThreadCPU(tid: $0.tid, name: "\($0.name) (pid \(pid))", seconds: $0.seconds)
            }
        }
    }

    private static func sum<Value: AdditiveArithmetic>(_ values: [Value?]) -> Value? {
        guard !values.isEmpty else { return nil }
        var total = Value.zero
        for value in values {
            guard let value else { return nil }
            total += value
        }
        return total
    }

    /// `GET /v1/stats`, or nil without an admin key or when it fails.
    func stats() async -> (connections: Int, sessions: Int, residentBytes: Int?)? {
        guard let adminKey = self.adminKey,
            let answer = try? await self.http.call("GET", "/v1/stats", bearer: adminKey),
            answer.status == 200, let object = answer.object,
            let connections = object["connections"] as? Int, let sessions = object["sessions"] as? Int
        else { return nil }
        return (connections, sessions, object["residentBytes"] as? Int)
    }

    /// The histogram `name` from the node's `/metrics`, or nil when it cannot be read.
    func histogram(_ name: String) async -> PrometheusHistogram? {
        guard let answer = try? await self.http.call("GET", "/metrics", bearer: self.adminKey), answer.status == 200
        else { return nil }
        return PrometheusHistogram(named: name, in: answer.text)
    }

    /// The node's id from `GET /v1/stats`, or nil without an admin key or when it fails.
    func node() async -> String? {
        guard let adminKey = self.adminKey,
            let answer = try? await self.http.call("GET", "/v1/stats", bearer: adminKey),
            answer.status == 200
        else { return nil }
        return answer.object?["node"] as? String
    }

    /// Whether there is anything to read at all.
    var canSample: Bool { self.adminKey != nil || !self.pids.isEmpty }
}
