import Histogram

/// The latency histograms of the bench: microseconds from 1 µs to one minute, three significant
/// digits. Every histogram the engine makes has this layout, so any two can be merged.
public enum LatencyHistogram {
    /// The largest latency recorded, in microseconds; longer ones are recorded as this.
    public static let highestMicroseconds: UInt64 = 60_000_000

    /// An empty histogram with the bench's layout.
    public static func make() -> Histogram<UInt64> {
        var histogram = Histogram<UInt64>(
            lowestDiscernibleValue: 1,
            highestTrackableValue: Self.highestMicroseconds,
            numberOfSignificantValueDigits: .three
        )
        // Merging a histogram decoded elsewhere must never trap on a layout edge.
        histogram.autoResize = true
        return histogram
    }

    /// Records `microseconds`, clamped to the histogram's range.
    @inlinable
    public static func record(_ microseconds: UInt64, in histogram: inout Histogram<UInt64>) {
        histogram.record(Swift.min(microseconds, Self.highestMicroseconds))
    }

    /// Adds `other` into `histogram`, whatever their layouts.
    public static func merge(_ other: Histogram<UInt64>, into histogram: inout Histogram<UInt64>) {
        if other.numberOfSignificantValueDigits == histogram.numberOfSignificantValueDigits
            && other.lowestDiscernibleValue == histogram.lowestDiscernibleValue
        {
            histogram.add(other)
        } else {
            for value in other.recordedValues() {
                histogram.record(Swift.min(value.value, Self.highestMicroseconds), count: value.count)
            }
        }
    }
}
