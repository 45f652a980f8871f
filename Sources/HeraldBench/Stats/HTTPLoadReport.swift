import Histogram

/// What one ``BenchHTTPLoad/run(rate:duration:request:)`` did.
public struct HTTPLoadReport: Sendable, Codable {
    /// Requests sent.
    public var sent: Int
    /// Requests answered with a 2xx status.
    public var succeeded: Int
    /// Requests answered otherwise, or lost with their connection.
    public var failed: Int
    /// Seconds from the first request to the last answer.
    public var seconds: Double
    /// Microseconds from when each request was due (open loop) or sent (closed loop) to its answer.
    public var latency: Histogram<UInt64>
    /// Answers by status (`"200"`, `"429"`, ...); `"error"` for requests lost with their connection.
    public var statuses: [String: Int]

    /// A report of `sent` requests.
    public init(
        sent: Int = 0,
        succeeded: Int = 0,
        failed: Int = 0,
        seconds: Double = 0,
        latency: Histogram<UInt64> = LatencyHistogram.make(),
        statuses: [String: Int] = [:]
    ) {
        self.sent = sent
        self.succeeded = succeeded
        self.failed = failed
        self.seconds = seconds
        self.latency = latency
        self.statuses = statuses
    }

    /// Requests answered per second.
    public var requestsPerSecond: Double {
        self.seconds > 0 ? Double(self.succeeded + self.failed) / self.seconds : 0
    }

    /// Adds `other` into this report; `seconds` is the longer of the two (the runs overlapped).
    public mutating func merge(_ other: HTTPLoadReport) {
        self.sent += other.sent
        self.succeeded += other.succeeded
        self.failed += other.failed
        self.seconds = max(self.seconds, other.seconds)
        LatencyHistogram.merge(other.latency, into: &self.latency)
        self.statuses.merge(other.statuses, uniquingKeysWith: +)
    }

    private enum CodingKeys: String, CodingKey {
        case sent, succeeded, failed, seconds, latency, statuses
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.sent = try container.decode(Int.self, forKey: .sent)
        self.succeeded = try container.decode(Int.self, forKey: .succeeded)
        self.failed = try container.decode(Int.self, forKey: .failed)
        self.seconds = try container.decode(Double.self, forKey: .seconds)
        self.latency = try container.decode(SparseHistogram.self, forKey: .latency).histogram
        self.statuses = try container.decodeIfPresent([String: Int].self, forKey: .statuses) ?? [:]
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(self.sent, forKey: .sent)
        try container.encode(self.succeeded, forKey: .succeeded)
        try container.encode(self.failed, forKey: .failed)
        try container.encode(self.seconds, forKey: .seconds)
        try container.encode(SparseHistogram(self.latency), forKey: .latency)
        try container.encode(self.statuses, forKey: .statuses)
    }
}
