import Histogram

/// The live line on stderr, once a second: phase, connections, pushes and their rate, and
/// the newest latency percentile.
public enum ProgressLine {
    /// The line for `current`, with rates since `previous` (taken `interval` seconds before).
    public static func render(
        elapsed: Double,
        phase: String,
        connections: Int,
        current: PoolSnapshot,
        previous: PoolSnapshot?,
        interval: Double
    ) -> String {
        var parts: [String] = []
        parts.append("[\(Format.left(Format.fixed(elapsed, 0), 4))s] \(phase)")
        var connectText = "open \(Format.count(current.open))/\(Format.count(connections))"
        let failures = current.connectFailures + current.authFailures + current.timeouts
        if failures > 0 { connectText += " fail \(Format.count(failures))" }
        if current.refusedBusy > 0 { connectText += " busy \(Format.count(current.refusedBusy))" }
        if current.closedByServer > 0 { connectText += " closed \(Format.count(current.closedByServer))" }
        if let previous, interval > 0 {
            let opened = current.authenticated - previous.authenticated
            if opened > 0 { connectText += " (+\(Format.short(Double(opened) / interval))/s)" }
        }
        parts.append(connectText)
        let pushes = current.totalPushes
        if pushes > 0 {
            var text = "pushes \(Format.short(Double(pushes)))"
            if let previous, interval > 0 {
                text += " (\(Format.short(Double(pushes - previous.totalPushes) / interval))/s)"
            }
            parts.append(text)
            // The kind with the most pushes is the one the scenario is about.
            if let (kind, histogram) = current.latency.max(by: { $0.value.totalCount < $1.value.totalCount }),
                histogram.totalCount > 0
            {
                let p99 = Double(histogram.valueAtPercentile(99)) / 1000
                parts.append("\(kind) p99 \(Format.milliseconds(p99)) ms")
            }
        }
        return parts.joined(separator: " | ")
    }
}
