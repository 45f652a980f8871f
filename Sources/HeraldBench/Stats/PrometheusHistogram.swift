/// One histogram as `/metrics` renders it (Prometheus text format): the cumulative count of
/// observations at or under each bucket's upper bound, the total count and sum.
///
/// The bench reads the server's histograms before and after a measured part and takes the
/// difference, so that what the server recorded in that part alone can be read as quantiles.
struct PrometheusHistogram: Sendable {
    /// Upper bounds (`le`, in the metric's unit) with their cumulative counts, ascending; the
    /// last is `+Inf`.
    var buckets: [(bound: Double, count: Double)]
    var count: Double
    var sum: Double

    /// The histogram `name` in a `/metrics` text, or nil if the text has no bucket of it.
    /// Series with labels besides `le` are added together.
    init?(named name: String, in text: String) {
        var byBound: [Double: Double] = [:]
        var count = 0.0
        var sum = 0.0
        for line in text.split(separator: "\n") where line.hasPrefix(name) && !line.hasPrefix("#") {
            let rest = line.dropFirst(name.count)
            guard let space = rest.lastIndex(of: " "), let value = Double(rest[rest.index(after: space)...]) else {
                continue
            }
            let series = rest[..<space]
            if series.hasPrefix("_bucket{"), let bound = Self.bound(in: series) {
                byBound[bound, default: 0] += value
            } else if series == "_count" || series.hasPrefix("_count{") {
                count += value
            } else if series == "_sum" || series.hasPrefix("_sum{") {
                sum += value
            }
        }
        guard !byBound.isEmpty else { return nil }
        self.buckets = byBound.sorted { $0.key < $1.key }.map { (bound: $0.key, count: $0.value) }
        self.count = count
        self.sum = sum
    }

    init(buckets: [(bound: Double, count: Double)], count: Double, sum: Double) {
        self.buckets = buckets
        self.count = count
        self.sum = sum
    }

    /// The `le` label's value in `{…le="0.001"…}`; `+Inf` is infinity.
    private static func bound(in labels: Substring) -> Double? {
        guard let start = labels.firstRange(of: "le=\"") else { return nil }
        let value = labels[start.upperBound...].prefix { $0 != "\"" }
        return value == "+Inf" ? .infinity : Double(value)
    }

    /// What was observed after `earlier` (the same histogram read before): each bucket's,
    /// the count's and the sum's difference. Nil if the buckets differ.
    func subtracting(_ earlier: PrometheusHistogram) -> PrometheusHistogram? {
        guard earlier.buckets.map(\.bound) == self.buckets.map(\.bound) else { return nil }
        let buckets = zip(self.buckets, earlier.buckets).map { (bound: $0.bound, count: $0.count - $1.count) }
        return PrometheusHistogram(buckets: buckets, count: self.count - earlier.count, sum: self.sum - earlier.sum)
    }

    /// The `q` quantile (0 to 1), interpolated linearly within its bucket as Prometheus's
    /// `histogram_quantile` does; the highest finite bound if it falls in `+Inf`; nil
    /// without observations.
    func quantile(_ q: Double) -> Double? {
        guard let total = self.buckets.last?.count, total > 0 else { return nil }
        let rank = q * total
        var lower = 0.0
        var below = 0.0
        for (bound, count) in self.buckets {
            if count >= rank {
                guard bound.isFinite else { return lower }
                let inBucket = count - below
                return inBucket > 0 ? lower + (bound - lower) * (rank - below) / inBucket : bound
            }
            lower = bound
            below = count
        }
        return lower
    }
}
