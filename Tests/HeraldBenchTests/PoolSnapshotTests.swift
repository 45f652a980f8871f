import Foundation
import Histogram
import NIOCore
import Testing

@testable import HeraldBench

@Suite struct PoolSnapshotTests {
    private static func histogram(_ values: [UInt64]) -> Histogram<UInt64> {
        var histogram = LatencyHistogram.make()
        for value in values { LatencyHistogram.record(value, in: &histogram) }
        return histogram
    }

    @Test func mergeAddsCountersAndHistograms() {
        var first = PoolSnapshot()
        first.attempted = 10
        first.authenticated = 9
        first.refusedBusy = 1
        first.pushes = ["broadcast": 9]
        first.latency = ["broadcast": Self.histogram([100, 200, 300])]
        first.lastArrivalNanos = 5
        var second = PoolSnapshot()
        second.attempted = 5
        second.authenticated = 5
        second.pushes = ["broadcast": 5, "user": 2]
        second.latency = ["broadcast": Self.histogram([400]), "user": Self.histogram([7, 8])]
        second.lastArrivalNanos = 9

        first.merge(second)
        #expect(first.attempted == 15)
        #expect(first.authenticated == 14)
        #expect(first.refusedBusy == 1)
        #expect(first.pushes == ["broadcast": 14, "user": 2])
        #expect(first.totalPushes == 16)
        #expect(first.latency["broadcast"]?.totalCount == 4)
        #expect(first.latency["broadcast"]?.max ?? 0 >= 400)
        #expect(first.latency["user"]?.totalCount == 2)
        #expect(first.lastArrivalNanos == 9)
    }

    @Test func codableRoundTripKeepsPercentiles() throws {
        var snapshot = PoolSnapshot()
        snapshot.authenticated = 3
        snapshot.pushes = ["user": 1_000]
        var values: [UInt64] = []
        for index in 0..<1_000 { values.append(UInt64(50 + index * index)) }
        snapshot.latency = ["user": Self.histogram(values)]
        let data = try JSONEncoder().encode(snapshot)
        #expect(data.count < 40_000, "sparse: \(data.count) bytes")
        let decoded = try JSONDecoder().decode(PoolSnapshot.self, from: data)
        #expect(decoded.authenticated == 3)
        #expect(decoded.pushes == ["user": 1_000])
        let original = try #require(snapshot.latency["user"])
        let copy = try #require(decoded.latency["user"])
        #expect(copy.totalCount == original.totalCount)
        for percentile in [50.0, 90.0, 99.0, 99.9, 100.0] {
            #expect(copy.valueAtPercentile(percentile) == original.valueAtPercentile(percentile), "p\(percentile)")
        }
        #expect(copy.maxRecorded == original.maxRecorded)
    }

    @Test func olderSnapshotsWithoutNewFieldsDecode() throws {
        let json =
            #"{"attempted":1,"connected":1,"authenticated":1,"connectFailures":0,"authFailures":0,"refusedBusy":0,"closedByServer":0,"goAways":0,"pushes":{},"latency":{},"lastArrivalNanos":0}"#
        let decoded = try JSONDecoder().decode(PoolSnapshot.self, from: Data(json.utf8))
        #expect(decoded.authenticated == 1)
        #expect(decoded.retries == 0)
    }

    @Test func latencyIsClampedToTheRange() {
        var histogram = LatencyHistogram.make()
        LatencyHistogram.record(UInt64.max / 4, in: &histogram)
        #expect(histogram.totalCount == 1)
        #expect(histogram.max >= LatencyHistogram.highestMicroseconds)
    }

    @Test func loadReportRoundTrip() throws {
        var report = HTTPLoadReport(sent: 10, succeeded: 9, failed: 1, seconds: 1.5, statuses: ["200": 9, "500": 1])
        LatencyHistogram.record(1_234, in: &report.latency)
        let decoded = try JSONDecoder().decode(HTTPLoadReport.self, from: try JSONEncoder().encode(report))
        #expect(decoded.sent == 10)
        #expect(decoded.statuses == ["200": 9, "500": 1])
        #expect(decoded.latency.totalCount == 1)
        var merged = decoded
        merged.merge(report)
        #expect(merged.sent == 20)
        #expect(merged.latency.totalCount == 2)
        #expect(merged.seconds == 1.5)
    }

    @Test func outcomeMerge() {
        var outcome = ConnectOutcome(attempted: 10, authenticated: 8, failed: 2, refusedBusy: 2, retries: 0, seconds: 1)
        outcome.merge(ConnectOutcome(attempted: 5, authenticated: 5, retries: 3, seconds: 2))
        #expect(
            outcome
                == ConnectOutcome(attempted: 15, authenticated: 13, failed: 2, refusedBusy: 2, retries: 3, seconds: 2))
        #expect(outcome.connectionsPerSecond == 6.5)
    }

    @Test func retryBackoffGrowsAndStaysBounded() {
        let policy = BenchRetryPolicy(maximumAttempts: 5, initialDelayMilliseconds: 50, maximumDelayMilliseconds: 400)
        for attempt in 1...10 {
            let delay = policy.delay(afterAttempt: attempt).nanoseconds
            let full = Int64(min(400, 50 << (attempt - 1))) * 1_000_000
            #expect(delay >= full / 2 && delay <= full, "attempt \(attempt): \(delay)")
        }
    }
}
