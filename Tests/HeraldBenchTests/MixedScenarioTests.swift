import Foundation
import Histogram
import NIOCore
import Testing

@testable import HeraldBench

@Suite("Mixed scenario: requests, settings, result aggregation")
struct MixedScenarioTests {
    static func histogram(count: Int, microseconds: UInt64) -> Histogram<UInt64> {
        var histogram = LatencyHistogram.make()
        for _ in 0..<count { LatencyHistogram.record(microseconds, in: &histogram) }
        return histogram
    }

    static func load(sent: Int, succeeded: Int, seconds: Double, latency: UInt64 = 1_000) -> HTTPLoadReport {
        HTTPLoadReport(
            sent: sent,
            succeeded: succeeded,
            failed: sent - succeeded,
            seconds: seconds,
            latency: Self.histogram(count: sent, microseconds: latency),
            statuses: sent > succeeded ? ["200": succeeded, "429": sent - succeeded] : ["200": succeeded]
        )
    }

    /// 1,000 clients, all online; 10 s of unicasts in batches of 100 and 200 broadcasts.
    static func outcome(
        rate: Double = 25_000,
        online: Int = 1_000,
        unicasts: HTTPLoadReport = Self.load(sent: 2_500, succeeded: 2_500, seconds: 10),
        broadcasts: HTTPLoadReport = Self.load(sent: 200, succeeded: 200, seconds: 10),
        unicastsDelivered: Int = 250_000,
        broadcastsDelivered: Int = 200_000
    ) -> MixedOutcome {
        MixedOutcome(
            rate: rate,
            batch: 100,
            connections: 1_000,
            online: online,
            unicasts: unicasts,
            broadcasts: broadcasts,
            unicastsDelivered: unicastsDelivered,
            broadcastsDelivered: broadcastsDelivered,
            deliverySeconds: 10.5,
            unicastLatency: Self.histogram(count: unicastsDelivered, microseconds: 2_000),
            broadcastLatency: Self.histogram(count: broadcastsDelivered, microseconds: 50_000)
        )
    }

    @Test func theFiguresAreTheUnicastsBesideTheBroadcasts() throws {
        let outcome = Self.outcome()
        #expect(outcome.unicastPushes == 250_000)
        #expect(outcome.unicastPushesPerSecond == 25_000)
        #expect(outcome.expectedUnicasts == 250_000)
        #expect(outcome.expectedBroadcastDeliveries == 200_000)
        let figures = outcome.figures
        #expect(
            figures.map(\.key) == [
                "targetRate", "unicastPushes", "pushesPerSecond", "delivered", "broadcasts", "broadcastsPerSecond",
                "broadcastDeliveries", "broadcastDeliveriesPerSecond",
            ])
        func value(_ key: String) -> Double? { figures.first { $0.key == key }?.value }
        #expect(value("targetRate") == 25_000)
        #expect(value("pushesPerSecond") == 25_000)
        #expect(value("delivered") == 250_000)
        #expect(value("broadcasts") == 200)
        #expect(value("broadcastsPerSecond") == 20)
        #expect(value("broadcastDeliveries") == 200_000)
        let perSecond = try #require(value("broadcastDeliveriesPerSecond"))
        #expect(abs(perSecond - 200_000 / 10.5) < 1e-6)
        #expect(figures.first { $0.key == "pushesPerSecond" }?.label == "unicast pushes per second")
        #expect(figures.first { $0.key == "broadcastDeliveriesPerSecond" }?.formatted == "19,048 /s")
        #expect(outcome.notes.isEmpty)

        // The server's hand-over wait, when it could be read, adds its p50 and p99.
        var withServer = Self.outcome()
        withServer.handOverWait = PrometheusHistogram(
            buckets: [(bound: 0.001, count: 60), (bound: 0.01, count: 100), (bound: .infinity, count: 100)],
            count: 100, sum: 0.2)
        let serverFigures = withServer.figures.suffix(2)
        #expect(serverFigures.map(\.key) == ["handOverWaitP50Ms", "handOverWaitP99Ms"])
        // 50 of the 60 under 1 ms, and 39 of the 40 between 1 and 10 ms, in milliseconds.
        let p50: Double = 50.0 / 60.0
        let p99: Double = 1.0 + 9.0 * 39.0 / 40.0
        let p50Figure = try #require(serverFigures.first?.value)
        let p99Figure = try #require(serverFigures.last?.value)
        #expect(abs(p50Figure - p50) < 1e-9)
        #expect(abs(p99Figure - p99) < 1e-9)

        // As fast as possible: no target rate, and no shortfall to note.
        let unpaced = Self.outcome(rate: 0)
        #expect(unpaced.figures.first?.key == "unicastPushes")
        #expect(unpaced.notes.isEmpty)
    }

    @Test func latencyIsKeptApartByKind() {
        let latency = Self.outcome().latency
        #expect(latency.map(\.kind) == ["user", "broadcast", "api user", "api broadcast"])
        #expect(latency[0].count == 250_000)
        #expect(abs(latency[0].p50Ms - 2) < 0.01 && abs(latency[0].p99Ms - 2) < 0.01)
        #expect(abs(latency[0].p999Ms - 2) < 0.01)
        #expect(latency[1].count == 200_000)
        #expect(abs(latency[1].p99Ms - 50) < 0.1)
        #expect(latency[2].count == 2_500)
        #expect(latency[3].count == 200)

        var none = Self.outcome()
        none.unicastLatency = nil
        none.broadcastLatency = nil
        #expect(none.latency.map(\.kind) == ["api user", "api broadcast"])
    }

    @Test func bothSidesRequestsAddUp() {
        let http = Self.outcome(
            unicasts: Self.load(sent: 2_500, succeeded: 2_490, seconds: 10),
            broadcasts: Self.load(sent: 200, succeeded: 200, seconds: 10.2)
        ).http
        #expect(http.sent == 2_700)
        #expect(http.succeeded == 2_690)
        #expect(http.failed == 10)
        #expect(http.seconds == 10.2)
        #expect(http.statuses == ["200": 2_690, "429": 10])
        #expect(http.messages == 249_000 + 200)
    }

    @Test func whatDidNotArriveOrWasRefusedIsNoted() {
        let short = Self.outcome(
            online: 900,
            unicasts: Self.load(sent: 2_500, succeeded: 2_000, seconds: 10),
            broadcasts: Self.load(sent: 200, succeeded: 190, seconds: 10),
            unicastsDelivered: 170_000,
            broadcastsDelivered: 170_000
        )
        // 200,000 pushes to users of whom 90% were online; 190 broadcasts to 900 clients.
        #expect(short.expectedUnicasts == 180_000)
        #expect(short.expectedBroadcastDeliveries == 171_000)
        #expect(
            short.notes == [
                "10000 of 180000 unicast pushes to online users did not arrive",
                "1000 of 171000 broadcast deliveries did not arrive",
                "500 of 2500 unicast requests failed",
                "10 of 200 broadcast requests failed",
                "the API took 20,000 unicast pushes per second, short of the 25,000 asked",
            ])
    }

    @Test func aSinglePushIsAMessagesRequestToOneUser() throws {
        let requests = PushRequests(app: "demo", userPrefix: "u", users: 1_000, payloadSize: 40)
        let (path, body) = requests.single(index: 7, qos: 0)
        #expect(path == "/v1/apps/demo/messages")
        struct Body: Decodable {
            var users: [String]
            var payloadBase64: String
            var qos: Int
        }
        let decoded = try JSONDecoder().decode(Body.self, from: Data(body.readableBytesView))
        #expect(decoded.users == ["u\(PushRequests.pick(7_000, in: 1_000))"])
        #expect(decoded.qos == 0)
        let payload = ByteBuffer(bytes: try #require(Data(base64Encoded: decoded.payloadBase64)))
        #expect(payload.readableBytes == 40)
        let sentAt = try #require(BenchPayload.sentAt(payload))
        #expect(BenchPayload.now() >= sentAt)
        // The same user as the first message of the batch with the same index.
        let (_, batch) = requests.batch(index: 7, batch: 3, qos: 0)
        #expect(String(buffer: batch).hasPrefix(#"{"messages":[{"users":["\#(decoded.users[0])"]"#))
    }

    @Test func mixedSettingsAreTheBroadcastSidesOnes() {
        #expect(BenchScenario(rawValue: "mixed") == .mixed)
        #expect(BenchScenario.mixed.pushes)
        let favourable = BenchSettings(scenario: .mixed, rate: 25_000)
        #expect(favourable.httpConnections == 32)
        #expect(favourable.pipeline == 1)
        #expect(favourable.batch == 100)
        #expect(favourable.presetMatched == .favourable)
        #expect(
            favourable.publisherDescription
                == "broadcasts on 32 HTTP connections, one request in flight on each, and unicasts on one more")
        let ordinary = BenchSettings(scenario: .mixed, preset: .ordinaryPublisher, rate: 25_000)
        #expect(ordinary.httpConnections == 1 && ordinary.pipeline == 48 && ordinary.clientScheduling == .normal)
        #expect(
            ordinary.publisherDescription
                == "broadcasts on one HTTP connection, 48 requests pipelined, and unicasts on one more")
    }
}
