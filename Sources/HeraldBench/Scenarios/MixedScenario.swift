import NIOCore

/// `mixed`: what a backend's devices see while the backend broadcasts. For `--duration`, one
/// HTTP connection sends QoS 0 unicasts at `--rate` pushes per second (batches of `--batch`
/// through the batch endpoint, or with `--batch 1` each push a `POST /messages` of its own),
/// open loop as in `unicast`; at the same time the other HTTP connections (`--http-connections`,
/// each keeping `--pipeline` requests in flight) send broadcasts to every client back to back.
///
/// The clients tell the two apart by the PUSH's kind (`user` or `broadcast`) and time each
/// from the stamp in its payload: the unicasts' delivery latency under a saturated fan-out,
/// beside broadcasts completed and broadcast deliveries per second.
enum MixedScenario {
    static func run(_ run: ScenarioRun) async throws -> ScenarioResult {
        let settings = run.settings
        let outcome = try await run.connect(rate: settings.connectRate, acknowledge: true)
        let requests = PushRequests(for: run)
        // The unicasts' connection: at --rate, requests go out as they fall due; at 0, one at a time.
        return try await run.withHTTPLoad(connections: 1, pipelining: 1) { unicasts in
            try await run.withHTTPLoad { broadcasts in
                try await Self.measure(
                    run, unicasts: unicasts, broadcasts: broadcasts, requests: requests, outcome: outcome)
            }
        }
    }

    private static func measure(
        _ run: ScenarioRun,
        unicasts: BenchHTTPLoad,
        broadcasts: BenchHTTPLoad,
        requests: PushRequests,
        outcome: ConnectOutcome
    ) async throws -> ScenarioResult {
        let settings = run.settings
        let batch = settings.batch
        // Open both sides' first connection (a publish no client listens to), so that neither
        // side's first requests wait for a TCP handshake.
        let warmup = requests.publish(topic: "bench-warmup").path
        for load in [unicasts, broadcasts] {
            _ = try await load.post(path: warmup, body: ByteBuffer(string: "{\"payload\":\"w\"}"))
        }

        try await run.fleet.resetLatencies()
        let start = try await run.fleet.snapshot()
        let usersBefore = start.pushes("user")
        let broadcastsBefore = start.pushes("broadcast")
        run.phase("unicasts with broadcasts back to back")
        let waitBefore = await run.probe.histogram(MixedOutcome.handOverWaitMetric)
        let startNanos = BenchPayload.now()
        let mark = try await run.mark()
        let duration = Duration.milliseconds(Int64(settings.duration * 1000))
        async let unicastReport = unicasts.run(rate: settings.rate / Double(batch), duration: duration) { index in
            batch == 1 ? requests.single(index: index, qos: 0) : requests.batch(index: index, batch: batch, qos: 0)
        }
        async let broadcastReport = broadcasts.run(rate: 0, duration: duration) { _ in requests.broadcast() }
        let (unicastLoad, broadcastLoad) = await (unicastReport, broadcastReport)

        run.phase("draining")
        var mixed = MixedOutcome(
            rate: settings.rate,
            batch: batch,
            connections: settings.connections,
            online: start.pool.open,
            unicasts: unicastLoad,
            broadcasts: broadcastLoad,
            unicastsDelivered: 0,
            broadcastsDelivered: 0,
            deliverySeconds: 0
        )
        _ = try await run.waitForPushes(
            kind: "broadcast", before: broadcastsBefore, expected: mixed.expectedBroadcastDeliveries)
        let end = try await run.waitForPushes(kind: "user", before: usersBefore, expected: mixed.expectedUnicasts)
        let usage = try await run.usage(since: mark)

        mixed.unicastsDelivered = end.pushes("user") - usersBefore
        mixed.broadcastsDelivered = end.pushes("broadcast") - broadcastsBefore
        mixed.deliverySeconds =
            end.pool.lastArrivalNanos > startNanos ? Double(end.pool.lastArrivalNanos - startNanos) / 1e9 : 0
        if let before = waitBefore, let after = await run.probe.histogram(MixedOutcome.handOverWaitMetric) {
            mixed.handOverWait = after.subtracting(before)
        }
        mixed.unicastLatency = end.pool.latency["user"]
        mixed.broadcastLatency = end.pool.latency["broadcast"]

        var result = ScenarioResult(connect: outcome, usage: usage)
        result.server.pid = run.probe.pid
        result.server.cpuSeconds = usage.server
        result.figures = mixed.figures
        result.latency = mixed.latency
        result.http = mixed.http
        result.notes = mixed.notes
        return result
    }
}
