/// `unicast` and `qos1`: pushes through the batch endpoint, each message to one random online
/// user, at `--rate` messages per second (0: as fast as the API answers) for `--duration`.
/// Delivery latency is from the stamp taken when the request was built to the arrival.
enum UnicastScenario {
    static func run(_ run: ScenarioRun, qos: Int) async throws -> ScenarioResult {
        let settings = run.settings
        let outcome = try await run.connect(rate: settings.connectRate, acknowledge: true)
        let requests = PushRequests(for: run)
        return try await run.withHTTPLoad { load in
            try await Self.measure(run, load: load, requests: requests, outcome: outcome, qos: qos)
        }
    }

    private static func measure(
        _ run: ScenarioRun,
        load: BenchHTTPLoad,
        requests: PushRequests,
        outcome: ConnectOutcome,
        qos: Int
    ) async throws -> ScenarioResult {
        let settings = run.settings
        let batch = settings.batch
        try await run.fleet.resetLatencies()
        let start = try await run.fleet.snapshot()
        let before = start.pushes("user")

        run.phase(qos == 1 ? "pushing qos 1" : "pushing")
        let crossing = run.crossing
        crossing?.reset()
        let redisBefore = await run.redisCost?.reading()
        let mark = try await run.mark()
        let report = await load.run(
            rate: settings.rate / Double(batch),
            duration: .milliseconds(Int64(settings.duration * 1000))
        ) { index in
            crossing?.countMessages(
                to: requests.users(ofBatch: index, batch: batch), through: load.api(ofRequest: index))
            return requests.batch(index: index, batch: batch, qos: qos)
        }
        run.phase("draining")
        // Every message goes to one user; the share of users online is the share delivered.
        let online = max(0, min(start.pool.open, settings.connections))
        let messages = report.succeeded * batch
        let expected = settings.connections > 0 ? messages * online / settings.connections : 0
        let end = try await run.waitForPushes(kind: "user", before: before, expected: expected)
        let usage = try await run.usage(since: mark)
        if let redisCost = run.redisCost {
            let redisAfter = await redisCost.reading()
            redisCost.record(
                "redisCommandsPerRequest",
                batch == 1 ? "Redis commands per push request" : "Redis commands per batch of \(batch)",
                from: redisBefore, to: redisAfter, per: Double(report.succeeded))
            redisCost.noteCommands(during: "the pushes", from: redisBefore, to: redisAfter)
        }

        let delivered = end.pushes("user") - before
        var result = ScenarioResult(connect: outcome, usage: usage)
        result.crossNode = crossing?.current
        result.server.pid = run.probe.pid
        result.server.cpuSeconds = usage.server
        result.http = HTTPFigures(report, messagesPerRequest: batch)
        let pushesPerSecond = report.seconds > 0 ? Double(messages) / report.seconds : 0
        let prefix = qos == 1 ? "stored " : ""
        result.figures = [
            Figure("pushes", "\(prefix)pushes accepted by the API", Double(messages), .count),
            Figure("pushesPerSecond", "\(prefix)pushes per second", pushesPerSecond, .perSecond),
            Figure("requestsPerSecond", "batch requests per second", report.requestsPerSecond, .perSecond),
            Figure("delivered", "pushes delivered", Double(delivered), .count),
            Figure(
                "deliveriesPerSecond", "deliveries per second",
                usage.seconds > 0 ? Double(delivered) / usage.seconds : 0, .perSecond),
        ]
        if settings.rate > 0 {
            result.figures.insert(Figure("targetRate", "target rate", settings.rate, .perSecond), at: 0)
        }
        if let histogram = end.pool.latency["user"] {
            result.latency.append(LatencyFigures(kind: "user", microseconds: histogram))
        }
        result.latency.append(LatencyFigures(kind: "api", microseconds: report.latency))
        if delivered < expected {
            result.notes.append("\(expected - delivered) of \(expected) pushes to online users did not arrive")
        }
        if report.failed > 0 {
            result.notes.append("\(report.failed) of \(report.sent) requests failed")
        }
        if settings.rate > 0 && pushesPerSecond < settings.rate * 0.95 {
            result.notes.append(
                "the API took \(Format.count(Int(pushesPerSecond))) pushes per second, short of the \(Format.count(Int(settings.rate))) asked"
            )
        }
        return result
    }
}
