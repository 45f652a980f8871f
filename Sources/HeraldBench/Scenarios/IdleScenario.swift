import HeraldCore

/// `idle`: hold N authenticated connections for `--duration` and measure the server's memory
/// per connection: RSS growth over the connections added, from `/v1/stats` and from /proc.
enum IdleScenario {
    static func run(_ run: ScenarioRun) async throws -> ScenarioResult {
        var server = ServerFigures()
        server.pid = run.probe.pid
        let before = await run.probe.sample()
        server.recordBefore(before)

        let mark = try await run.mark()
        let outcome = try await run.connect(rate: run.settings.rate)
        run.phase("holding")
        let redisBefore = await run.redisCost?.reading()
        let pingsBefore = try await run.fleet.snapshot().pool.pingsSent
        let holdStart = ContinuousClock.now
        try await run.hold(seconds: run.settings.duration)
        if let redisCost = run.redisCost {
            let redisAfter = await redisCost.reading()
            let seconds = (ContinuousClock.now - holdStart).timeInterval
            let pings = try await run.fleet.snapshot().pool.pingsSent - pingsBefore
            redisCost.record(
                "redisCommandsPerSecondPerNode", "Redis commands per second and node, idle", from: redisBefore,
                to: redisAfter, per: seconds * Double(run.nodes))
            // Every command of the hold is counted against the heartbeats: an upper bound, which
            // the nodes' own timers (lease renewals) keep above zero.
            redisCost.record(
                "redisCommandsPerHeartbeat", "Redis commands per heartbeat (at most)", from: redisBefore,
                to: redisAfter, per: Double(pings))
            redisCost.noteCommands(during: "the idle hold", from: redisBefore, to: redisAfter)
        }
        let usage = try await run.usage(since: mark)
        let held = try await run.fleet.snapshot().pool

        let after = await run.probe.sample()
        server.recordAfter(after)
        server.cpuSeconds = usage.server

        var result = ScenarioResult(connect: outcome, server: server, usage: usage)
        // Per connection the server holds more than before (its own count), else per client.
        // A cluster node's /v1/stats counts its own share only: there, per client held.
        let cluster = run.crossing != nil
        let added: Int
        if !cluster, let connectionsBefore = before.connections, let connectionsAfter = after.connections {
            added = connectionsAfter - connectionsBefore
        } else {
            added = held.open
        }
        result.figures.append(Figure("connectionsHeld", "connections held", Double(held.open), .count))
        if let after = after.connections {
            let label = cluster ? "connections the first API's node counts" : "connections the server counts"
            result.figures.append(Figure("serverConnections", label, Double(after), .count))
        }
        if let procBefore = before.procResident, let procAfter = after.procResident, added > 0 {
            result.figures.append(
                Figure(
                    "bytesPerConnection", "server RSS per connection (/proc)",
                    Double(procAfter - procBefore) / Double(added), .bytes)
            )
        }
        if !cluster, let statsBefore = before.statsResident, let statsAfter = after.statsResident, added > 0 {
            result.figures.append(
                Figure(
                    "bytesPerConnectionStats",
                    "server RSS per connection (/v1/stats)",
                    Double(statsAfter - statsBefore) / Double(added),
                    .bytes
                )
            )
        }
        if !run.probe.canSample {
            result.notes.append("server memory not measured: give --admin-key (for /v1/stats) or --server-pid")
        }
        if held.closedByServer > 0 {
            result.notes.append("the server closed \(held.closedByServer) connections while they were held")
        }
        return result
    }
}
