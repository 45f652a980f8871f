import HeraldCore
import NIOConcurrencyHelpers

/// `storm`: with N connections up, drop them all and reconnect them at once (or at `--rate`):
/// the time until all are back, refusals (`server_busy`), retries, failures, and the server's
/// peak memory sampled meanwhile.
enum StormScenario {
    static func run(_ run: ScenarioRun) async throws -> ScenarioResult {
        let settings = run.settings
        let outcome = try await run.connect(rate: settings.connectRate)
        var server = ServerFigures()
        server.pid = run.probe.pid
        let before = await run.probe.sample()
        server.recordBefore(before)

        let peak = NIOLockedValueBox<(proc: Int?, stats: Int?)>((before.procResident, before.statsResident))
        let mark = try await run.mark()
        let (dropSeconds, storm) = try await withThrowingTaskGroup(of: (Double, ConnectOutcome)?.self) { group in
            // Sample the server's memory throughout: /proc often, /v1/stats less so (it is an HTTP call).
            group.addTask {
                var round = 0
                while !Task.isCancelled {
                    let proc = run.probe.procSample().procResident
                    let stats = round % 5 == 0 ? await run.probe.stats()?.residentBytes : nil
                    peak.withLockedValue { peak in
                        if let proc { peak.proc = max(peak.proc ?? 0, proc) }
                        if let stats { peak.stats = max(peak.stats ?? 0, stats) }
                    }
                    round += 1
                    try? await Task.sleep(for: .milliseconds(50))
                }
                return nil
            }
            group.addTask {
                run.phase("dropping")
                let dropStart = ContinuousClock.now
                try await run.fleet.drop()
                let dropped = ContinuousClock.now - dropStart
                run.phase("reconnecting")
                let outcomes = try await run.fleet.reconnect(rate: settings.rate / Double(max(1, run.fleet.count)))
                var merged = ConnectOutcome()
                for outcome in outcomes { merged.merge(outcome) }
                return (dropped.timeInterval, merged)
            }
            defer { group.cancelAll() }
            while let next = try await group.next() {
                if let next { return next }
            }
            throw BenchError("the storm ended without an outcome")
        }
        let usage = try await run.usage(since: mark)
        let after = await run.probe.sample()
        server.recordAfter(after)
        let peaks = peak.withLockedValue { $0 }
        server.procResidentPeak = peaks.proc.map { max($0, after.procResident ?? 0) }
        server.statsResidentPeak = peaks.stats.map { max($0, after.statsResident ?? 0) }
        server.cpuSeconds = usage.server

        var result = ScenarioResult(connect: outcome, server: server, usage: usage)
        result.figures = [
            Figure("dropSeconds", "time to drop all", dropSeconds, .seconds),
            Figure("reconnectSeconds", "time until all are back", storm.seconds, .seconds),
            Figure("reconnected", "reconnected", Double(storm.authenticated), .count),
            Figure("reconnectsPerSecond", "reconnections per second", storm.connectionsPerSecond, .perSecond),
            Figure("refusedBusy", "refusals (server_busy)", Double(storm.refusedBusy), .count),
            Figure("retries", "retries", Double(storm.retries), .count),
            Figure("failed", "given up", Double(storm.failed), .count),
        ]
        if let peak = server.procResidentPeak ?? server.statsResidentPeak {
            result.figures.append(Figure("peakResidentBytes", "server peak RSS", Double(peak), .bytes))
        }
        if let error = storm.error { result.notes.append("reconnect: \(error)") }
        if storm.authenticated < outcome.authenticated {
            result.notes.append("\(outcome.authenticated - storm.authenticated) connections did not come back")
        }
        return result
    }
}
