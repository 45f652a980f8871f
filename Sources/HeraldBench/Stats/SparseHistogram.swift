import Histogram

/// A histogram as JSON: only the buckets that hold values, as parallel arrays of a value of
/// the bucket and its count, plus the exact largest value recorded.
///
/// The synthesized encoding of `Histogram` writes every bucket (some 17,000 numbers for the
/// bench's layout); snapshots travel between agent and controller once a second.
struct SparseHistogram: Codable, Sendable {
    var values: [UInt64]
    var counts: [UInt64]
    /// The largest value recorded (a bucket's value is only equivalent to it).
    var maxRecorded: UInt64

    init(_ histogram: Histogram<UInt64>) {
        var values: [UInt64] = []
        var counts: [UInt64] = []
        for item in histogram.recordedValues() {
            values.append(item.value)
            counts.append(item.count)
        }
        self.values = values
        self.counts = counts
        self.maxRecorded = histogram.maxRecorded
    }

    /// The histogram, with the bench's layout.
    var histogram: Histogram<UInt64> {
        var histogram = LatencyHistogram.make()
        for (value, count) in zip(self.values, self.counts) where count > 0 {
            // The top bucket is recorded at the exact maximum, so that `maxRecorded` survives.
            let exact = histogram.valuesAreEquivalent(value, self.maxRecorded) ? self.maxRecorded : value
            histogram.record(Swift.min(exact, LatencyHistogram.highestMicroseconds), count: count)
        }
        return histogram
    }

    private enum CodingKeys: String, CodingKey {
        case values, counts, maxRecorded
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.values = try container.decode([UInt64].self, forKey: .values)
        self.counts = try container.decode([UInt64].self, forKey: .counts)
        self.maxRecorded = try container.decodeIfPresent(UInt64.self, forKey: .maxRecorded) ?? 0
    }
}
