/// `connect`: open N connections at `--rate` (0: as fast as the clients can), and report the
/// rate of accept plus AUTH and the failures.
enum ConnectScenario {
    static func run(_ run: ScenarioRun) async throws -> ScenarioResult {
        var server = ServerFigures()
        let before = await run.probe.sample()
        server.pid = run.probe.pid
        server.recordBefore(before)

        let mark = try await run.mark()
        let outcome = try await run.connect(rate: run.settings.rate)
        let usage = try await run.usage(since: mark)

        let after = await run.probe.sample()
        server.recordAfter(after)
        server.cpuSeconds = usage.server

        var result = ScenarioResult(connect: outcome, server: server, usage: usage)
        result.figures = [
            Figure(
                "connectionsPerSecond", "connections per second (with AUTH)", outcome.connectionsPerSecond, .perSecond),
            Figure("connectSeconds", "time to connect all", outcome.seconds, .seconds),
            Figure("authenticated", "authenticated", Double(outcome.authenticated), .count),
            Figure("failed", "failed", Double(outcome.failed), .count),
            Figure("refusedBusy", "refused (server_busy)", Double(outcome.refusedBusy), .count),
        ]
        // What the server spent on each connection, and so what one core of it would take
        // with clients elsewhere: on a machine the clients share, the rate is theirs too.
        if let serverCPU = usage.server, outcome.authenticated > 0, serverCPU > 0 {
            let perConnection = serverCPU / Double(outcome.authenticated)
            result.figures.append(
                Figure(
                    "serverMicrosecondsPerConnection", "server CPU per connection", perConnection * 1e6, .microseconds)
            )
            result.figures.append(
                Figure(
                    "serverConnectionsPerCoreSecond", "server accepts per core-second",
                    1 / perConnection, .perSecond)
            )
        }
        if outcome.authenticated < run.settings.connections {
            result.notes.append(
                "\(run.settings.connections - outcome.authenticated) of \(run.settings.connections) connections "
                    + "did not authenticate"
            )
        }
        return result
    }
}
