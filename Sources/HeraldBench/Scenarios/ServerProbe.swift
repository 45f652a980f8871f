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
    let pid: Int32?

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
        Sample(
            procResident: self.pid.flatMap { ProcessStats.residentBytes(pid: $0) },
            cpuSeconds: self.pid.flatMap { ProcessStats.cpuSeconds(pid: $0) }
        )
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

    /// The node's id from `GET /v1/stats`, or nil without an admin key or when it fails.
    func node() async -> String? {
        guard let adminKey = self.adminKey,
            let answer = try? await self.http.call("GET", "/v1/stats", bearer: adminKey),
            answer.status == 200
        else { return nil }
        return answer.object?["node"] as? String
    }

    /// Whether there is anything to read at all.
    var canSample: Bool { self.adminKey != nil || self.pid != nil }
}
