import Testing

@testable import HeraldBench

@Suite("Prometheus histograms read from /metrics")
struct PrometheusHistogramTests {
    static func text(_ counts: [Double], count: Double, sum: Double) -> String {
        let bounds = ["0.001", "0.005", "0.01", "+Inf"]
        var lines = [
            "# TYPE herald_handover_wait_seconds histogram",
            "herald_fanout_slice_seconds_bucket{le=\"0.001\"} 99",
        ]
        for (bound, value) in zip(bounds, counts) {
            lines.append("herald_handover_wait_seconds_bucket{le=\"\(bound)\"} \(value)")
        }
        lines += ["herald_handover_wait_seconds_count \(count)", "herald_handover_wait_seconds_sum \(sum)"]
        return lines.joined(separator: "\n") + "\n"
    }

    @Test func readsOneHistogramOutOfTheText() throws {
        let histogram = try #require(
            PrometheusHistogram(named: "herald_handover_wait_seconds", in: Self.text([1, 3, 4, 4], count: 4, sum: 0.02)))
        #expect(histogram.buckets.map(\.bound) == [0.001, 0.005, 0.01, .infinity])
        #expect(histogram.buckets.map(\.count) == [1, 3, 4, 4])
        #expect(histogram.count == 4)
        #expect(histogram.sum == 0.02)
        #expect(PrometheusHistogram(named: "herald_missing_seconds", in: Self.text([1, 1, 1, 1], count: 1, sum: 0)) == nil)
    }

    @Test func seriesWithOtherLabelsAreAddedTogether() throws {
        let text = """
            m_bucket{node="a",le="1"} 2
            m_bucket{node="b",le="1"} 3
            m_bucket{node="a",le="+Inf"} 4
            m_bucket{node="b",le="+Inf"} 3
            m_count{node="a"} 4
            m_count{node="b"} 3
            """
        let histogram = try #require(PrometheusHistogram(named: "m", in: text))
        #expect(histogram.buckets.map(\.count) == [5, 7])
        #expect(histogram.count == 7)
    }

    @Test func theDifferenceIsWhatWasObservedInBetween() throws {
        let before = try #require(
            PrometheusHistogram(named: "herald_handover_wait_seconds", in: Self.text([10, 10, 10, 10], count: 10, sum: 0.005)))
        let after = try #require(
            PrometheusHistogram(named: "herald_handover_wait_seconds", in: Self.text([10, 60, 110, 110], count: 110, sum: 0.6)))
        let between = try #require(after.subtracting(before))
        #expect(between.buckets.map(\.count) == [0, 50, 100, 100])
        #expect(between.count == 100)
        // Half of them at or under 5 ms: the median is that bucket's upper bound.
        #expect(between.quantile(0.5) == 0.005)
        // The 99th falls in (5 ms, 10 ms], 49 of 50 of the way up.
        let p99 = try #require(between.quantile(0.99))
        #expect(abs(p99 - (0.005 + 0.005 * 49 / 50)) < 1e-12)
        // Buckets that differ are not subtracted.
        let other = PrometheusHistogram(buckets: [(bound: 1, count: 1), (bound: .infinity, count: 1)], count: 1, sum: 0)
        #expect(after.subtracting(other) == nil)
    }

    @Test func quantilesAtTheEdges() {
        let empty = PrometheusHistogram(buckets: [(bound: 0.001, count: 0), (bound: .infinity, count: 0)], count: 0, sum: 0)
        #expect(empty.quantile(0.5) == nil)
        // Everything past the last finite bound: the quantile is that bound, as Prometheus says.
        let slow = PrometheusHistogram(buckets: [(bound: 0.001, count: 0), (bound: .infinity, count: 5)], count: 5, sum: 9)
        #expect(slow.quantile(0.99) == 0.001)
        // Inside the first bucket the lower bound is 0.
        let fast = PrometheusHistogram(buckets: [(bound: 0.001, count: 4), (bound: .infinity, count: 4)], count: 4, sum: 0)
        #expect(fast.quantile(0.5) == 0.0005)
    }
}
