import Histogram

/// What the mixed scenario counted, and the figures, latencies and notes it makes of it: the
/// unicasts' rate and delivery latency beside the broadcasts' completions and deliveries.
///
/// A value with no I/O, so that tests can give it counts and histograms.
struct MixedOutcome: Sendable {
    /// Unicast pushes per second asked for (0: as fast as one request in flight allows).
    var rate: Double
    /// Unicast pushes per request (1: `POST /messages`, each push a request of its own).
    var batch: Int
    /// Client connections in all; the unicasts go to random users among them.
    var connections: Int
    /// Clients online when the measured part started: each broadcast reaches them all, and
    /// their share of `connections` is the share of unicasts that can be delivered.
    var online: Int
    /// The unicasts' HTTP connection.
    var unicasts: HTTPLoadReport
    /// The broadcasts' HTTP connections.
    var broadcasts: HTTPLoadReport
    /// Unicast (`user`) pushes the clients received in the measured part.
    var unicastsDelivered: Int
    /// Broadcast pushes the clients received in the measured part.
    var broadcastsDelivered: Int
    /// Seconds from the start of the measured part to the last push received.
    var deliverySeconds: Double
    /// Delivery latency of the unicasts and of the broadcasts, in microseconds.
    var unicastLatency: Histogram<UInt64>?
    var broadcastLatency: Histogram<UInt64>?
    /// What the server recorded in `herald_handover_wait_seconds` during the measured part:
    /// how long the unicasts handed to an event loop waited for it, the server's share of
    /// their latency (on the node the bench's API calls reach).
    var handOverWait: PrometheusHistogram? = nil

    static let handOverWaitMetric = "herald_handover_wait_seconds"

    /// Unicast pushes the API accepted.
    var unicastPushes: Int { self.unicasts.succeeded * self.batch }

    /// Unicast pushes accepted per second, over the unicasts' own requests.
    var unicastPushesPerSecond: Double {
        self.unicasts.seconds > 0 ? Double(self.unicastPushes) / self.unicasts.seconds : 0
    }

    /// Unicast pushes that should have arrived: those to users online.
    var expectedUnicasts: Int {
        self.connections > 0 ? self.unicastPushes * max(0, min(self.online, self.connections)) / self.connections : 0
    }

    /// Broadcast pushes that should have arrived: every broadcast to every client online.
    var expectedBroadcastDeliveries: Int {
        self.broadcasts.succeeded * max(0, self.online)
    }

    /// The table's figures, in order.
    var figures: [Figure] {
        var figures: [Figure] = []
        if self.rate > 0 {
            figures.append(Figure("targetRate", "unicast target rate", self.rate, .perSecond))
        }
        figures += [
            Figure("unicastPushes", "unicast pushes accepted by the API", Double(self.unicastPushes), .count),
            Figure("pushesPerSecond", "unicast pushes per second", self.unicastPushesPerSecond, .perSecond),
            Figure("delivered", "unicast pushes delivered", Double(self.unicastsDelivered), .count),
            Figure("broadcasts", "broadcasts completed", Double(self.broadcasts.succeeded), .count),
            Figure(
                "broadcastsPerSecond", "broadcasts per second",
                self.broadcasts.seconds > 0 ? Double(self.broadcasts.succeeded) / self.broadcasts.seconds : 0,
                .perSecond),
            Figure("broadcastDeliveries", "broadcast deliveries", Double(self.broadcastsDelivered), .count),
            Figure(
                "broadcastDeliveriesPerSecond", "broadcast deliveries per second",
                self.deliverySeconds > 0 ? Double(self.broadcastsDelivered) / self.deliverySeconds : 0,
                .perSecond),
        ]
        if let wait = self.handOverWait, let p50 = wait.quantile(0.5), let p99 = wait.quantile(0.99) {
            figures += [
                Figure("handOverWaitP50Ms", "hand-over wait in the server, p50", p50 * 1000, .milliseconds),
                Figure("handOverWaitP99Ms", "hand-over wait in the server, p99", p99 * 1000, .milliseconds),
            ]
        }
        return figures
    }

    /// Delivery latency of the unicasts (`user`) and of the broadcasts, then each side's API
    /// latency (`api user`, `api broadcast`).
    var latency: [LatencyFigures] {
        var latency: [LatencyFigures] = []
        if let histogram = self.unicastLatency {
            latency.append(LatencyFigures(kind: "user", microseconds: histogram))
        }
        if let histogram = self.broadcastLatency {
            latency.append(LatencyFigures(kind: "broadcast", microseconds: histogram))
        }
        latency.append(LatencyFigures(kind: "api user", microseconds: self.unicasts.latency))
        latency.append(LatencyFigures(kind: "api broadcast", microseconds: self.broadcasts.latency))
        return latency
    }

    /// Both sides' requests together; `messages` counts unicast pushes and broadcasts.
    var http: HTTPFigures {
        var both = self.unicasts
        both.merge(self.broadcasts)
        var figures = HTTPFigures(both, messagesPerRequest: 1)
        figures.messages = self.unicastPushes + self.broadcasts.succeeded
        return figures
    }

    /// What did not go as asked.
    var notes: [String] {
        var notes: [String] = []
        if self.unicastsDelivered < self.expectedUnicasts {
            let missing = self.expectedUnicasts - self.unicastsDelivered
            notes.append("\(missing) of \(self.expectedUnicasts) unicast pushes to online users did not arrive")
        }
        if self.broadcastsDelivered < self.expectedBroadcastDeliveries {
            let missing = self.expectedBroadcastDeliveries - self.broadcastsDelivered
            notes.append("\(missing) of \(self.expectedBroadcastDeliveries) broadcast deliveries did not arrive")
        }
        if self.unicasts.failed > 0 {
            notes.append("\(self.unicasts.failed) of \(self.unicasts.sent) unicast requests failed")
        }
        if self.broadcasts.failed > 0 {
            notes.append("\(self.broadcasts.failed) of \(self.broadcasts.sent) broadcast requests failed")
        }
        if self.rate > 0 && self.unicastPushesPerSecond < self.rate * 0.95 {
            notes.append(
                "the API took \(Format.count(Int(self.unicastPushesPerSecond))) unicast pushes per second, "
                    + "short of the \(Format.count(Int(self.rate))) asked"
            )
        }
        return notes
    }
}
