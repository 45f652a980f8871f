import Foundation
import HeraldBench
import Histogram
import Testing

@Suite("Report: table, JSON, progress line, bottleneck")
struct ReportFormattingTests {
    static func histogram(_ values: ClosedRange<Int>, scale: UInt64 = 1) -> Histogram<UInt64> {
        var histogram = LatencyHistogram.make()
        for value in values { LatencyHistogram.record(UInt64(value) * scale, in: &histogram) }
        return histogram
    }

    static func report(
        settings: BenchSettings = BenchSettings(
            scenario: .broadcast, connections: 19_000, sourceAddresses: ["127.0.0.2"]),
        scheduling: [ClientScheduling?] = [nil, nil],
        figures: [Figure] = [],
        latency: [LatencyFigures] = [],
        notes: [String] = [],
        bottleneck: Bottleneck? = nil
    ) -> BenchReport {
        var server = ServerFigures()
        server.pid = 99
        server.procResidentBefore = 50 * 1024 * 1024
        server.procResidentAfter = 100 * 1024 * 1024
        server.procResidentPeak = 120 * 1024 * 1024
        server.cpuSeconds = 3.5
        var pool = PoolSnapshot()
        pool.authenticated = 19_000
        pool.open = 19_000
        pool.pushes = ["broadcast": 19_000]
        return BenchReport(
            scenario: settings.scenario,
            startedAt: "2026-01-01T00:00:00Z",
            settings: settings,
            api: "http://127.0.0.1:8080",
            endpoint: "127.0.0.1:7070",
            app: "bench-x",
            host: "box",
            cores: 2,
            agents: [
                AgentFigures(
                    name: "worker 1 (pid 10)", host: "box", pid: 10, sameMachine: true, connections: 9_500,
                    authenticated: 9_500, cpuSeconds: 1.5, residentBytes: 40_000_000, clientScheduling: scheduling[0]
                ),
                AgentFigures(
                    name: "worker 2 (pid 11)", host: "box", pid: 11, sameMachine: true, connections: 9_500,
                    authenticated: 9_500, cpuSeconds: 1.25, residentBytes: 40_000_000, clientScheduling: scheduling[1]
                ),
            ],
            connect: ConnectOutcome(attempted: 19_000, authenticated: 19_000, seconds: 0.95),
            figures: figures,
            latency: latency,
            http: nil,
            server: server,
            controllerCPUSeconds: 0.25,
            measuredSeconds: 10,
            bottleneck: bottleneck
                ?? Bottleneck.judge(wallSeconds: 10, serverCPU: 3.5, clientCPU: 3, sameMachine: true, machineCores: 2),
            clients: pool.counters,
            notes: notes
        )
    }

    @Test func latencyFiguresAreMillisecondPercentiles() {
        // 1 ms ... 1000 ms in µs.
        let figures = LatencyFigures(kind: "user", microseconds: Self.histogram(1...1000, scale: 1000))
        #expect(figures.count == 1000)
        #expect(abs(figures.p50Ms - 500) < 1)
        #expect(abs(figures.p90Ms - 900) < 1)
        #expect(abs(figures.p99Ms - 990) < 1)
        #expect(abs(figures.p999Ms - 999) < 1.5)
        #expect(abs(figures.maxMs - 1000) < 1.5)
        #expect(abs(figures.meanMs - 500.5) < 1)

        let empty = LatencyFigures(kind: "api", microseconds: LatencyHistogram.make())
        #expect(empty.count == 0 && empty.p99Ms == 0 && empty.maxMs == 0)
    }

    @Test func figuresFormatByUnit() {
        #expect(Figure("a", "a", 1_234_567.4, .count).formatted == "1,234,567")
        #expect(Figure("a", "a", 20_431.6, .perSecond).formatted == "20,432 /s")
        #expect(Figure("a", "a", 0.25, .seconds).formatted == "0.250 s")
        #expect(Figure("a", "a", 187.44, .milliseconds).formatted == "187.4 ms")
        #expect(Figure("a", "a", 0.4123, .milliseconds).formatted == "0.412 ms")
        #expect(Figure("a", "a", 42.06, .microseconds).formatted == "42.1 µs")
        #expect(Figure("a", "a", 2_900, .bytes).formatted == "2.83 KiB")
        #expect(Figure("a", "a", 512, .bytes).formatted == "512 B")
        #expect(Figure("a", "a", 3 * 1024 * 1024, .bytes).formatted == "3.0 MiB")
        #expect(Figure("a", "a", -1_500, .bytes).formatted == "-1.46 KiB")
    }

    @Test func theTableShowsEveryPart() {
        let report = Self.report(
            figures: [
                Figure("allMs", "one broadcast: time until the last has it", 142.5, .milliseconds),
                Figure("deliveriesPerSecond", "deliveries per second", 1_523_000, .perSecond),
            ],
            latency: [LatencyFigures(kind: "broadcast", microseconds: Self.histogram(1...1000, scale: 100))],
            notes: ["12 of 19000 clients never got the one broadcast"]
        )
        let table = ReportTable.render(report)
        let lines = table.split(separator: "\n").map(String.init)
        #expect(lines.first?.hasPrefix("herald-bench broadcast: 19,000 TCP connections, 1 worker") == true)
        #expect(
            lines.dropFirst().first
                == "case: favourable (publisher: 32 HTTP connections, one request in flight on each; "
                + "clients: SCHED_BATCH)"
        )
        #expect(table.hasSuffix("\n"))
        #expect(
            lines.contains {
                $0.contains("connected and authenticated") && $0.contains("19,000/19,000 in 0.95 s (20,000 /s)")
            })
        #expect(lines.contains { $0.contains("one broadcast: time until the last has it") && $0.hasSuffix("142.5 ms") })
        #expect(lines.contains { $0.contains("deliveries per second") && $0.hasSuffix("1,523,000 /s") })
        let header = lines.first { $0.hasPrefix("latency (ms)") }
        #expect(header?.contains("p99.9") == true)
        let row = lines.first { $0.hasPrefix("  broadcast") }
        #expect(row?.contains("1,000") == true)
        #expect(row?.hasSuffix("100.0") == true)  // max: 100 ms
        #expect(
            lines.contains {
                $0.contains("server") && $0.contains("RSS 50.0 MiB -> 100.0 MiB, peak 120.0 MiB, CPU 3.50 s in 10.00 s")
            })
        #expect(lines.contains { $0.contains("clients") && $0.contains("2 agents, CPU 2.75 s + controller 0.25 s") })
        #expect(lines.contains { $0.contains("bottleneck") && $0.contains("neither:") })
        #expect(lines.contains { $0.contains("note") && $0.contains("12 of 19000") })
    }

    @Test func theHeaderSaysWhichCaseTheRunWas() {
        func caseLine(_ report: BenchReport) -> String? {
            ReportTable.render(report).split(separator: "\n").dropFirst().first.map(String.init)
        }
        let ordinary = BenchSettings(scenario: .broadcast, preset: .ordinaryPublisher, connections: 19_000)
        #expect(
            caseLine(Self.report(settings: ordinary, scheduling: [.normal, .normal]))
                == "case: ordinary publisher (publisher: one HTTP connection, 48 requests pipelined; "
                + "clients: SCHED_OTHER)"
        )
        // Agents elsewhere choose their own scheduling: what they reported is what ran.
        #expect(
            caseLine(Self.report(settings: ordinary, scheduling: [.batch, .batch]))
                == "case: custom (publisher: one HTTP connection, 48 requests pipelined; clients: SCHED_BATCH)"
        )
        #expect(
            caseLine(Self.report(settings: ordinary, scheduling: [.batch, .normal]))
                == "case: custom (publisher: one HTTP connection, 48 requests pipelined; "
                + "clients: SCHED_BATCH on some agents, SCHED_OTHER on others)"
        )
        let unicast = BenchSettings(scenario: .unicast, preset: .ordinaryPublisher, rate: 25_000)
        #expect(
            caseLine(Self.report(settings: unicast))
                == "case: ordinary publisher (publisher: one HTTP connection, "
                + "requests sent as they fall due at --rate; clients: SCHED_OTHER)"
        )
        // The scenarios that push nothing have no publisher: the line after the title is blank.
        let connect = ReportTable.render(Self.report(settings: BenchSettings(scenario: .connect)))
        #expect(connect.split(separator: "\n", omittingEmptySubsequences: false)[1] == "")
        #expect(!connect.contains("case:"))
    }

    @Test func theJSONReportHasStableKeys() throws {
        let report = Self.report(
            figures: [Figure("deliveriesPerSecond", "deliveries per second", 1_523_000, .perSecond)],
            latency: [LatencyFigures(kind: "broadcast", microseconds: Self.histogram(1...100, scale: 1000))]
        )
        let data = try report.json()
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(object["scenario"] as? String == "broadcast")
        #expect((object["connect"] as? [String: Any])?["authenticated"] as? Int == 19_000)
        let figures = try #require(object["figures"] as? [[String: Any]])
        #expect(figures.first?["key"] as? String == "deliveriesPerSecond")
        #expect(figures.first?["unit"] as? String == "perSecond")
        let latency = try #require(object["latency"] as? [[String: Any]])
        #expect(latency.first?["kind"] as? String == "broadcast")
        #expect((latency.first?["p99Ms"] as? Double).map { abs($0 - 99) < 1 } == true)
        #expect((object["bottleneck"] as? [String: Any])?["side"] as? String == "neither")
        #expect((object["settings"] as? [String: Any])?["connections"] as? Int == 19_000)
        #expect((object["settings"] as? [String: Any])?["pipeline"] as? Int == 1)
        #expect((object["settings"] as? [String: Any])?["preset"] as? String == "favourable")
        #expect((object["server"] as? [String: Any])?["procResidentPeak"] as? Int == 120 * 1024 * 1024)
        #expect(!String(decoding: data, as: UTF8.self).contains("secret"))

        let decoded = try JSONDecoder().decode(BenchReport.self, from: data)
        #expect(decoded.figure("deliveriesPerSecond")?.value == 1_523_000)
        #expect(decoded.latency("broadcast")?.count == 100)
        #expect(decoded.agents.count == 2)
    }

    @Test func theProgressLineShowsConnectionsPushesAndRates() {
        var previous = PoolSnapshot()
        previous.open = 1_000
        previous.authenticated = 1_000
        previous.pushes = ["user": 10_000]
        var current = previous
        current.open = 3_000
        current.authenticated = 3_000
        current.connectFailures = 2
        current.refusedBusy = 5
        current.pushes = ["user": 60_000]
        current.latency = ["user": Self.histogram(1...100, scale: 100)]
        let line = ProgressLine.render(
            elapsed: 12.2,
            phase: "pushing",
            connections: 19_000,
            current: current,
            previous: previous,
            interval: 1
        )
        #expect(line.hasPrefix("[  12s] pushing | open 3,000/19,000 fail 2 busy 5 (+2000/s)"))
        #expect(line.contains("pushes 60.0k (50.0k/s)"))
        #expect(line.contains("user p99 9.9"))
        #expect(!line.contains("\n"))

        let first = ProgressLine.render(
            elapsed: 1,
            phase: "connecting",
            connections: 10,
            current: PoolSnapshot(),
            previous: nil,
            interval: 0
        )
        #expect(first == "[   1s] connecting | open 0/10")
    }

    @Test func theBottleneckIsTheBusierSide() {
        let unknown = Bottleneck.judge(
            wallSeconds: 10, serverCPU: nil, clientCPU: 5, sameMachine: true, machineCores: 2)
        #expect(unknown.side == .unknown)
        #expect(unknown.reason.contains("--server-pid"))

        let server = Bottleneck.judge(wallSeconds: 10, serverCPU: 19, clientCPU: 1, sameMachine: true, machineCores: 2)
        #expect(server.side == .server)
        #expect(server.serverCores == 1.9)

        let clients = Bottleneck.judge(wallSeconds: 10, serverCPU: 6, clientCPU: 12, sameMachine: true, machineCores: 2)
        #expect(clients.side == .clients)
        #expect(clients.reason.contains("saturated"))

        let saturatedServer = Bottleneck.judge(
            wallSeconds: 10, serverCPU: 11, clientCPU: 7, sameMachine: true, machineCores: 2)
        #expect(saturatedServer.side == .server)

        let spare = Bottleneck.judge(wallSeconds: 10, serverCPU: 4, clientCPU: 4, sameMachine: true, machineCores: 2)
        #expect(spare.side == .neither)

        let remote = Bottleneck.judge(wallSeconds: 10, serverCPU: 4, clientCPU: 18, sameMachine: false, machineCores: 2)
        #expect(remote.side == .clients)
        let remoteSpare = Bottleneck.judge(
            wallSeconds: 10, serverCPU: 4, clientCPU: 12, sameMachine: false, machineCores: 2)
        #expect(remoteSpare.side == .neither)
    }

    @Test func aThreadBusyOnItsOwnIsTheBottleneck() {
        let eventLoop = BusiestThread(process: "server", thread: "NIO-ELT-0-#0", cores: 0.97)
        let verdict = Bottleneck.judge(
            wallSeconds: 10, serverCPU: 11, clientCPU: 4, sameMachine: true, machineCores: 2, serverThread: eventLoop
        )
        #expect(verdict.side == .server)
        #expect(verdict.reason.hasPrefix("thread NIO-ELT-0-#0 of the server at 97% of a core"))
        #expect(verdict.serverThread == eventLoop)

        let worker = BusiestThread(process: "worker 1 (pid 7)", thread: "NIO-ELT-0-#1", cores: 0.95)
        let clients = Bottleneck.judge(
            wallSeconds: 10, serverCPU: 5, clientCPU: 9.5, sameMachine: true, machineCores: 2,
            serverThread: BusiestThread(process: "server", thread: "a", cores: 0.4), clientThread: worker
        )
        #expect(clients.side == .clients)
        #expect(clients.reason.contains("worker 1 (pid 7)"))
        let unknownServer = Bottleneck.judge(
            wallSeconds: 10, serverCPU: nil, clientCPU: 9.5, sameMachine: true, machineCores: 2, clientThread: worker
        )
        #expect(unknownServer.side == .clients)

        let start = [ThreadCPU(tid: 1, name: "main", seconds: 1), ThreadCPU(tid: 2, name: "loop", seconds: 5)]
        let end = [
            ThreadCPU(tid: 1, name: "main", seconds: 1.5), ThreadCPU(tid: 2, name: "loop", seconds: 8),
            ThreadCPU(tid: 3, name: "new", seconds: 2),
        ]
        let busiest = ThreadCPU.busiest(from: start, to: end)
        #expect(busiest?.name == "loop")
        #expect(busiest?.seconds == 3)
        #expect(ThreadCPU.busiest(from: start, to: []) == nil)
    }

    @Test func serverFiguresGivePerConnectionGrowth() {
        var server = ServerFigures()
        #expect(server.bytesPerConnection(added: 100) == nil)
        server.statsResidentBefore = 1_000_000
        server.statsResidentAfter = 1_300_000
        #expect(server.bytesPerConnection(added: 100) == 3_000)
        server.procResidentBefore = 1_000_000
        server.procResidentAfter = 1_200_000
        #expect(server.bytesPerConnection(added: 100) == 2_000)
        #expect(server.bytesPerConnection(added: 0) == nil)
    }
}
