import CoreMetrics
import HeraldWire
import Metrics

/// The gateway's swift-metrics instruments, made once per gateway.
struct GatewayMetrics: Sendable {
    let connections = Meter(label: "herald_connections")
    let sessions = Meter(label: "herald_sessions")
    let connectionsAccepted = Counter(label: "herald_connections_accepted_total")
    let connectionsRefused = Counter(label: "herald_connections_refused_total")
    let slowConsumersClosed = Counter(label: "herald_slow_consumers_closed_total")
    let framesIn = Counter(label: "herald_frames_in_total")
    let pushesWritten = Counter(label: "herald_pushes_written_total")
    /// How long each fan-out slice held its event loop.
    let fanOutSlice = Timer(label: "herald_fanout_slice_seconds", preferredDisplayUnit: .seconds)
    /// How long user messages handed to an event loop waited for the loop to write them: the
    /// server's share of a push's latency, long when the loops wait for a core.
    let handOverWait = Timer(label: "herald_handover_wait_seconds", preferredDisplayUnit: .seconds)
    private let errorsSent: [ErrorCode: Counter]

    /// Histogram buckets for the timers above, by label. A healthy slice or hand-over takes
    /// about a millisecond, under the 5 ms where a Prometheus factory's default buckets start.
    static let timerBuckets: [String: [Duration]] = {
        let buckets: [Duration] = [
            .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1),
            .microseconds(2500), .milliseconds(5), .milliseconds(10), .milliseconds(25),
            .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1),
        ]
        return ["herald_fanout_slice_seconds": buckets, "herald_handover_wait_seconds": buckets]
    }()

    init() {
        var errors: [ErrorCode: Counter] = [:]
        for code in ErrorCode.allCases {
            errors[code] = Counter(label: "herald_errors_sent_total", dimensions: [("code", code.rawValue)])
        }
        self.errorsSent = errors
    }

    func errorSent(_ code: ErrorCode) {
        self.errorsSent[code]?.increment()
    }
}
