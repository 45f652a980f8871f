import Histogram

/// Percentiles of one latency histogram, in milliseconds.
public struct LatencyFigures: Sendable, Codable, Hashable {
    /// What was timed: a push kind (`user`, `broadcast`, `topic`) or `api` (HTTP requests).
    public var kind: String
    /// Values recorded.
    public var count: Int
    public var p50Ms: Double
    public var p90Ms: Double
    public var p99Ms: Double
    public var p999Ms: Double
    public var maxMs: Double
    public var meanMs: Double

    /// Creates figures from given values.
    public init(
        kind: String,
        count: Int,
        p50Ms: Double,
        p90Ms: Double,
        p99Ms: Double,
        p999Ms: Double,
        maxMs: Double,
        meanMs: Double
    ) {
        self.kind = kind
        self.count = count
        self.p50Ms = p50Ms
        self.p90Ms = p90Ms
        self.p99Ms = p99Ms
        self.p999Ms = p999Ms
        self.maxMs = maxMs
        self.meanMs = meanMs
    }

    /// The percentiles of `histogram`, which holds microseconds.
    public init(kind: String, microseconds histogram: Histogram<UInt64>) {
        func ms(_ value: UInt64) -> Double { Double(value) / 1000 }
        self.kind = kind
        self.count = Int(clamping: histogram.totalCount)
        guard histogram.totalCount > 0 else {
            self.p50Ms = 0
            self.p90Ms = 0
            self.p99Ms = 0
            self.p999Ms = 0
            self.maxMs = 0
            self.meanMs = 0
            return
        }
        self.p50Ms = ms(histogram.valueAtPercentile(50))
        self.p90Ms = ms(histogram.valueAtPercentile(90))
        self.p99Ms = ms(histogram.valueAtPercentile(99))
        self.p999Ms = ms(histogram.valueAtPercentile(99.9))
        self.maxMs = ms(histogram.max)
        self.meanMs = histogram.mean / 1000
    }
}
