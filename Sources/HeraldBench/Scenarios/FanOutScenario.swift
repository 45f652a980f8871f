import NIOCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// `broadcast` and `topic`: first one message to all N clients, `--singles` times (the median
/// time until the last one has it), then messages back to back (or at `--rate`) for
/// `--duration`: deliveries per second.
enum FanOutScenario {
    /// Between two single messages, so that each reaches clients that are done reading.
    static let pauseBetweenSingles = Duration.milliseconds(200)

    enum Kind: String, Sendable {
        case broadcast
        case topic

        /// What one message is called in labels and keys.
        var message: String { self == .broadcast ? "broadcast" : "publish" }
        var messages: String { self == .broadcast ? "broadcasts" : "publishes" }
    }

    static func run(_ run: ScenarioRun, kind: Kind) async throws -> ScenarioResult {
        let settings = run.settings
        let topics = kind == .topic ? [settings.topic] : []
        let outcome = try await run.connect(rate: settings.connectRate, topics: topics)
        return try await run.withHTTPLoad { load in
            try await Self.measure(run, kind: kind, load: load, outcome: outcome)
        }
    }

    private static func measure(
        _ run: ScenarioRun,
        kind: Kind,
        load: BenchHTTPLoad,
        outcome: ConnectOutcome
    ) async throws -> ScenarioResult {
        let settings = run.settings
        let requests = PushRequests(for: run)
        let request: @Sendable () -> (path: String, body: ByteBuffer) = {
            kind == .topic ? requests.publish(topic: settings.topic) : requests.broadcast()
        }
        let name = kind.rawValue
        var result = ScenarioResult(connect: outcome, usage: .zero)

        // Open the HTTP connection first (a publish no client listens to), so that the timed
        // message does not wait for a TCP handshake.
        _ = try await load.post(
            path: requests.publish(topic: "bench-warmup").path, body: ByteBuffer(string: "{\"payload\":\"w\"}"),
            connection: 0)

        // One message to everyone, --singles times, each once the one before has arrived.
        run.phase(settings.singles == 1 ? "one \(kind.message)" : "one \(kind.message), \(settings.singles) times")
        try await run.fleet.resetLatencies()
        var times: [Double] = []
        var sessions = outcome.authenticated
        var fewest = Int.max
        for single in 0..<settings.singles {
            if single > 0 { try await Task.sleep(for: Self.pauseBetweenSingles) }
            let before = try await run.fleet.snapshot().pushes(name)
            let (path, body) = request()
            let sentAt = BenchPayload.sentAt(Self.payload(of: body) ?? ByteBuffer()) ?? BenchPayload.now()
            let answer = try await load.post(path: path, body: body, connection: 0)
            guard (200..<300).contains(answer.status) else {
                throw BenchError("POST \(path) answered \(answer.status): \(String(buffer: answer.body).prefix(200))")
            }
            // A node answers with the sessions it wrote to itself; in a cluster the others write
            // to theirs, so every authenticated client is expected.
            sessions =
                run.crossing != nil ? outcome.authenticated : Self.sessions(in: answer.body) ?? outcome.authenticated
            let once = try await run.waitForPushes(
                kind: name, before: before, expected: sessions, timeout: .seconds(30))
            fewest = min(fewest, once.pushes(name) - before)
            times.append(once.pool.lastArrivalNanos > sentAt ? Double(once.pool.lastArrivalNanos - sentAt) / 1e6 : 0)
            if single == settings.singles - 1, let histogram = once.pool.latency[name] {
                result.latency.append(LatencyFigures(kind: "\(name) (one)", microseconds: histogram))
            }
        }
        times.sort()
        let median =
            times.count % 2 == 1 ? times[times.count / 2] : (times[times.count / 2 - 1] + times[times.count / 2]) / 2
        let which = settings.singles == 1 ? "" : " (median of \(settings.singles))"
        result.figures.append(Figure("sessions", "sessions the server wrote to", Double(sessions), .count))
        let reachedLabel =
            settings.singles == 1
            ? "clients that got the one \(kind.message)"
            : "clients that got the single \(kind.message) that reached the fewest"
        result.figures.append(Figure("reached", reachedLabel, Double(fewest), .count))
        result.figures.append(
            Figure("allMs", "one \(kind.message): time until the last has it\(which)", median, .milliseconds))
        if settings.singles > 1, let first = times.first, let last = times.last {
            result.figures.append(
                Figure("allMsFastest", "one \(kind.message): the fastest of \(settings.singles)", first, .milliseconds))
            result.figures.append(
                Figure("allMsSlowest", "one \(kind.message): the slowest of \(settings.singles)", last, .milliseconds))
        }
        if fewest < sessions {
            result.notes.append(
                "\(sessions - fewest) of \(sessions) clients never got one of the single \(kind.messages)")
        }

        // Back to back (--pipeline requests in flight on each HTTP connection), or at --rate.
        run.phase("\(kind.messages) back to back")
        try await run.fleet.resetLatencies()
        let sustainedBefore = try await run.fleet.snapshot().pushes(name)
        let crossing = run.crossing
        crossing?.reset()
        let redisBefore = await run.redisCost?.reading()
        let startNanos = BenchPayload.now()
        let mark = try await run.mark()
        let report = await load.run(rate: settings.rate, duration: .milliseconds(Int64(settings.duration * 1000))) {
            index in
            crossing?.countBroadcast(through: load.api(ofRequest: index))
            return request()
        }
        run.phase("draining")
        let end = try await run.waitForPushes(
            kind: name,
            before: sustainedBefore,
            expected: report.succeeded * sessions
        )
        let usage = try await run.usage(since: mark)
        if let redisCost = run.redisCost {
            let redisAfter = await redisCost.reading()
            redisCost.record(
                "redisCommandsPerRequest", "Redis commands per \(kind.message)", from: redisBefore,
                to: redisAfter, per: Double(report.succeeded))
            redisCost.noteCommands(during: "the \(kind.messages)", from: redisBefore, to: redisAfter)
        }
        result.usage = usage
        result.crossNode = crossing?.current
        result.server.pid = run.probe.pid
        result.server.cpuSeconds = usage.server
        let deliveries = end.pushes(name) - sustainedBefore
        let seconds = end.pool.lastArrivalNanos > startNanos ? Double(end.pool.lastArrivalNanos - startNanos) / 1e9 : 0
        result.http = HTTPFigures(report, messagesPerRequest: 1)
        result.figures.append(Figure("messages", "\(kind.messages) sent", Double(report.succeeded), .count))
        result.figures.append(
            Figure(
                "messagesPerSecond",
                "\(kind.messages) per second",
                report.seconds > 0 ? Double(report.succeeded) / report.seconds : 0,
                .perSecond
            )
        )
        result.figures.append(Figure("deliveries", "deliveries", Double(deliveries), .count))
        result.figures.append(
            Figure(
                "deliveriesPerSecond", "deliveries per second", seconds > 0 ? Double(deliveries) / seconds : 0,
                .perSecond)
        )
        if let histogram = end.pool.latency[name] {
            result.latency.append(LatencyFigures(kind: name, microseconds: histogram))
        }
        result.latency.append(LatencyFigures(kind: "api", microseconds: report.latency))
        let expected = report.succeeded * sessions
        if deliveries < expected {
            result.notes.append("\(expected - deliveries) of \(expected) deliveries did not arrive")
        }
        if report.failed > 0 {
            result.notes.append("\(report.failed) of \(report.sent) requests failed")
        }
        return result
    }

    /// The bench payload inside a `{"payloadBase64": "..."}` body.
    static func payload(of body: ByteBuffer) -> ByteBuffer? {
        struct Body: Decodable { var payloadBase64: String }
        guard let decoded = try? JSONDecoder().decode(Body.self, from: Data(body.readableBytesView)),
            let bytes = Data(base64Encoded: decoded.payloadBase64)
        else { return nil }
        return ByteBuffer(bytes: bytes)
    }

    /// `sessions` of an API answer.
    static func sessions(in body: ByteBuffer) -> Int? {
        struct Answer: Decodable { var sessions: Int }
        return try? JSONDecoder().decode(Answer.self, from: Data(body.readableBytesView)).sessions
    }
}
