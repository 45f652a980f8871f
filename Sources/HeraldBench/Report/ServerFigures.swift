/// The server's side of a run: memory and CPU from /proc (with `--server-pid`) and from its
/// own `GET /v1/stats` (with the admin key).
public struct ServerFigures: Sendable, Codable, Hashable {
    /// The process sampled through /proc.
    public var pid: Int32?
    /// VmRSS from /proc before and after the measured part, and the highest sampled.
    public var procResidentBefore: Int?
    public var procResidentAfter: Int?
    public var procResidentPeak: Int?
    /// `residentBytes` from `/v1/stats` before and after, and the highest sampled.
    public var statsResidentBefore: Int?
    public var statsResidentAfter: Int?
    public var statsResidentPeak: Int?
    /// `connections` from `/v1/stats` before and after.
    public var connectionsBefore: Int?
    public var connectionsAfter: Int?
    /// CPU seconds over the measured part.
    public var cpuSeconds: Double?

    /// Nothing known yet.
    public init() {}

    /// RSS growth per connection added, from /proc or else from /v1/stats.
    public func bytesPerConnection(added connections: Int) -> Double? {
        guard connections > 0 else { return nil }
        if let before = self.procResidentBefore, let after = self.procResidentAfter {
            return Double(after - before) / Double(connections)
        }
        if let before = self.statsResidentBefore, let after = self.statsResidentAfter {
            return Double(after - before) / Double(connections)
        }
        return nil
    }
}

extension ServerFigures {
    /// Takes the probe's sample from before the measured part.
    mutating func recordBefore(_ sample: ServerProbe.Sample) {
        self.procResidentBefore = sample.procResident
        self.statsResidentBefore = sample.statsResident
        self.connectionsBefore = sample.connections
    }

    /// Takes the probe's sample from after the measured part.
    mutating func recordAfter(_ sample: ServerProbe.Sample) {
        self.procResidentAfter = sample.procResident
        self.statsResidentAfter = sample.statsResident
        self.connectionsAfter = sample.connections
    }
}
