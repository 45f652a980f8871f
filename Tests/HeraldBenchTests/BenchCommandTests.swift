import Foundation
import HeraldTestUtils
import Testing

/// `herald-bench` end to end: the real binary as controller and agents, against a real server.
@Suite("herald-bench end to end", .serialized)
struct BenchCommandTests {
    static let connections = 300

    /// A finished `herald-bench` run: its JSON report and its output.
    struct Run {
        var report: [String: Any]
        var result: BenchCommand.Result

        var figures: [String: Double] {
            var figures: [String: Double] = [:]
            for figure in self.report["figures"] as? [[String: Any]] ?? [] {
                if let key = figure["key"] as? String, let value = figure["value"] as? Double { figures[key] = value }
            }
            return figures
        }

        func latency(_ kind: String) -> [String: Any]? {
            (self.report["latency"] as? [[String: Any]])?.first { $0["kind"] as? String == kind }
        }

        func object(_ key: String) -> [String: Any] {
            self.report[key] as? [String: Any] ?? [:]
        }
    }

    /// Runs `herald-bench <arguments> --json <file>` to its end; fails unless it exits 0.
    static func bench(_ arguments: [String], timeout: Duration = .seconds(240)) async throws -> Run {
        let json = FileManager.default.temporaryDirectory
            .appendingPathComponent("herald-bench-\(UUID().uuidString.lowercased()).json").path
        defer { try? FileManager.default.removeItem(atPath: json) }
        let command = try BenchCommand(arguments + ["--json", json])
        let result = try await command.wait(timeout: timeout)
        guard result.status == 0 else {
            throw BenchCommandError(
                "herald-bench \(arguments.joined(separator: " ")) exited \(result.status)\nstdout:\n"
                    + result.standardOutput + "\nstderr:\n" + result.standardError
            )
        }
        let data = try Data(contentsOf: URL(fileURLWithPath: json))
        let report = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        return Run(report: report, result: result)
    }

    static func target(_ server: HeraldProcess) throws -> [String] {
        [
            "--api", server.apiBaseURL.absoluteString, "--admin-key", server.adminKey,
            "--server-pid", String(try #require(server.pid)),
        ]
    }

    @Test func connectAndBroadcastWithTwoLocalWorkers() async throws {
        let server = try await HeraldProcess.start()
        let common = try Self.target(server) + ["--connections", String(Self.connections), "--workers", "2"]

        let connect = try await Self.bench(["connect"] + common)
        #expect(connect.report["scenario"] as? String == "connect")
        #expect(connect.object("connect")["authenticated"] as? Int == Self.connections)
        #expect(connect.object("connect")["failed"] as? Int == 0)
        #expect((connect.figures["connectionsPerSecond"] ?? 0) > 0)
        #expect(connect.figures["authenticated"] == Double(Self.connections))
        // The server's CPU per connection, and what a core of it takes at that cost.
        let perConnection = try #require(connect.figures["serverMicrosecondsPerConnection"])
        #expect(perConnection > 0)
        let perCore = try #require(connect.figures["serverConnectionsPerCoreSecond"])
        #expect(abs(perCore * perConnection / 1e6 - 1) < 1e-6)
        let agents = try #require(connect.report["agents"] as? [[String: Any]])
        #expect(agents.count == 2)
        #expect(agents.map { $0["connections"] as? Int } == [150, 150])
        #expect(
            agents.allSatisfy {
                $0["sameMachine"] as? Bool == true && ($0["name"] as? String)?.hasPrefix("worker") == true
            })
        // The workers' client threads run under SCHED_BATCH unless told otherwise.
        #expect(agents.map { $0["clientScheduling"] as? String } == ["batch", "batch"])
        #expect(connect.object("settings")["clientScheduling"] as? String == "batch")
        #expect(connect.result.standardOutput.contains("; client threads SCHED_BATCH"))
        #expect(connect.object("clients")["open"] as? Int == Self.connections)
        let serverFigures = connect.object("server")
        #expect((serverFigures["procResidentBefore"] as? Int ?? 0) > 0)
        #expect((serverFigures["statsResidentBefore"] as? Int ?? 0) > 0)
        #expect(serverFigures["connectionsAfter"] as? Int == Self.connections)
        #expect(serverFigures["cpuSeconds"] is Double)
        #expect(["server", "clients", "neither"].contains(connect.object("bottleneck")["side"] as? String))
        #expect(connect.result.standardOutput.hasPrefix("herald-bench connect: 300 TCP connections, 2 workers"))
        #expect(connect.result.standardOutput.contains("connections per second"))
        #expect(connect.result.standardOutput.contains("bottleneck"))

        let broadcast = try await Self.bench(
            ["broadcast", "--duration", "2", "--singles", "3", "--client-scheduling", "normal"] + common)
        let broadcastAgents = try #require(broadcast.report["agents"] as? [[String: Any]])
        #expect(broadcastAgents.map { $0["clientScheduling"] as? String } == ["normal", "normal"])
        #expect(broadcast.result.standardOutput.contains("; client threads SCHED_OTHER"))
        // Ordinary clients but the favourable publisher: neither preset's case.
        #expect(
            broadcast.result.standardOutput.contains(
                "\ncase: custom (publisher: 32 HTTP connections, one request in flight on each; "
                    + "clients: SCHED_OTHER)\n"))
        #expect(broadcast.object("connect")["authenticated"] as? Int == Self.connections)
        #expect(broadcast.figures["sessions"] == Double(Self.connections))
        #expect(broadcast.figures["reached"] == Double(Self.connections))
        let allMs = try #require(broadcast.figures["allMs"])
        #expect(allMs > 0 && allMs < 5_000)
        // The median of three single broadcasts, between the fastest and the slowest.
        let fastest = try #require(broadcast.figures["allMsFastest"])
        let slowest = try #require(broadcast.figures["allMsSlowest"])
        #expect(fastest <= allMs && allMs <= slowest)
        #expect(broadcast.result.standardOutput.contains("one broadcast: time until the last has it (median of 3)"))
        #expect((broadcast.figures["messages"] ?? 0) >= 1)
        #expect((broadcast.figures["deliveriesPerSecond"] ?? 0) > 0)
        #expect(broadcast.figures["deliveries"] == (broadcast.figures["messages"] ?? 0) * Double(Self.connections))
        let once = try #require(broadcast.latency("broadcast (one)"))
        #expect(once["count"] as? Int == 3 * Self.connections)
        #expect((once["maxMs"] as? Double ?? 0) > 0)
        let sustained = try #require(broadcast.latency("broadcast"))
        #expect((sustained["count"] as? Int ?? 0) >= Self.connections)
        #expect(sustained["p99Ms"] is Double && sustained["p999Ms"] is Double)
        #expect(broadcast.object("http")["failed"] as? Int == 0)
        #expect((broadcast.report["notes"] as? [String])?.isEmpty == true, "\(broadcast.report["notes"] ?? "")")
        // The progress line went to stderr, the table to stdout.
        #expect(broadcast.result.standardError.contains("| open 300/300"))
        #expect(broadcast.result.standardOutput.contains("latency (ms)"))

        try await server.terminate()
    }

    @Test func mixedAsTheOrdinaryPublisher() async throws {
        let server = try await HeraldProcess.start()
        let connections = 200
        let mixed = try await Self.bench(
            [
                "mixed", "--preset", "ordinary-publisher", "--duration", "2", "--rate", "200", "--batch", "1",
                "--connections", String(connections),
            ] + Self.target(server)
        )
        let settings = mixed.object("settings")
        #expect(settings["scenario"] as? String == "mixed")
        #expect(settings["preset"] as? String == "ordinary-publisher")
        #expect(settings["clientScheduling"] as? String == "normal")
        #expect(settings["httpConnections"] as? Int == 1)
        #expect(settings["pipeline"] as? Int == 48)
        let agents = try #require(mixed.report["agents"] as? [[String: Any]])
        #expect(agents.map { $0["clientScheduling"] as? String } == ["normal"])
        #expect(
            mixed.result.standardOutput.contains(
                "\ncase: ordinary publisher (publisher: broadcasts on one HTTP connection, 48 requests pipelined, "
                    + "and unicasts on one more; clients: SCHED_OTHER)\n"),
            "\(mixed.result.standardOutput)")
        #expect(mixed.object("connect")["authenticated"] as? Int == connections)

        // Every unicast went to a user online, and every broadcast to every client.
        let pushes = try #require(mixed.figures["unicastPushes"])
        #expect(pushes > 0)
        #expect(mixed.figures["delivered"] == pushes)
        #expect(mixed.figures["targetRate"] == 200)
        #expect((mixed.figures["pushesPerSecond"] ?? 0) > 0)
        let broadcasts = try #require(mixed.figures["broadcasts"])
        #expect(broadcasts >= 1)
        #expect(mixed.figures["broadcastDeliveries"] == broadcasts * Double(connections))
        #expect((mixed.figures["broadcastDeliveriesPerSecond"] ?? 0) > 0)
        #expect((mixed.figures["broadcastsPerSecond"] ?? 0) > 0)

        // The clients timed each kind on its own.
        let user = try #require(mixed.latency("user"))
        #expect(user["count"] as? Int == Int(pushes))
        #expect(user["p50Ms"] is Double && user["p99Ms"] is Double && user["p999Ms"] is Double)
        let broadcast = try #require(mixed.latency("broadcast"))
        #expect(broadcast["count"] as? Int == Int(broadcasts) * connections)
        #expect(try #require(mixed.latency("api user"))["count"] as? Int == Int(pushes))
        #expect(try #require(mixed.latency("api broadcast"))["count"] as? Int == Int(broadcasts))
        let http = mixed.object("http")
        #expect(http["failed"] as? Int == 0)
        #expect(http["messages"] as? Int == Int(pushes + broadcasts))
        let notes = mixed.report["notes"] as? [String] ?? []
        #expect(!notes.contains { $0.contains("did not arrive") || $0.contains("failed") }, "\(notes)")
        #expect(mixed.result.standardOutput.contains("unicast pushes per second"))
        #expect(mixed.result.standardOutput.contains("broadcast deliveries per second"))

        try await server.terminate()
    }

    @Test func agentsListeningOnLoopbackServeControllers() async throws {
        let server = try await HeraldProcess.start()
        let first = try BenchCommand(["agent", "--listen", "127.0.0.1:0"])
        let second = try BenchCommand(
            ["agent", "--listen", "127.0.0.1:0", "--threads", "1", "--client-scheduling", "normal"])
        defer {
            first.terminate()
            second.terminate()
        }
        let prefix = "herald-bench agent listening on "
        let addresses = [
            String(try await first.line(startingWith: prefix, timeout: .seconds(30)).dropFirst(prefix.count)),
            String(try await second.line(startingWith: prefix, timeout: .seconds(30)).dropFirst(prefix.count)),
        ]
        #expect(addresses.allSatisfy { $0.hasPrefix("127.0.0.1:") && !$0.hasSuffix(":0") })
        let common = try Self.target(server) + ["--agents", addresses.joined(separator: ","), "--connections", "200"]

        let connect = try await Self.bench(["connect", "--rate", "2000"] + common)
        #expect(connect.object("connect")["authenticated"] as? Int == 200)
        #expect(connect.object("settings")["workers"] as? Int == 0)
        let agents = try #require(connect.report["agents"] as? [[String: Any]])
        #expect(agents.compactMap { $0["name"] as? String } == addresses)
        #expect(agents.map { $0["authenticated"] as? Int } == [100, 100])
        #expect(connect.result.standardOutput.contains("2 agents"))
        // Each agent chose its own scheduling, and says so.
        #expect(agents.map { $0["clientScheduling"] as? String } == ["batch", "normal"])
        #expect(connect.result.standardOutput.contains("SCHED_BATCH on some agents, SCHED_OTHER on others"))

        // The agents outlive a controller and serve the next one: a topic fan-out this time.
        let topic = try await Self.bench(["topic", "--duration", "1", "--singles", "1"] + common)
        #expect(topic.figures["sessions"] == 200)
        #expect(topic.figures["reached"] == 200)
        #expect(try #require(topic.latency("topic (one)"))["count"] as? Int == 200)
        #expect(topic.figures["allMsFastest"] == nil, "one single publish has no spread")
        #expect(first.isRunning && second.isRunning)

        try await server.terminate()
    }

    @Test func anUnreachableAgentFailsClearly() async throws {
        let server = try await HeraldProcess.start()
        // A port nothing listens on: the server's API port after it stopped.
        let command = try BenchCommand(
            [
                "connect", "--api", server.apiBaseURL.absoluteString, "--admin-key", server.adminKey,
                "--agents", "127.0.0.1:1", "--connections", "10",
            ]
        )
        let result = try await command.wait(timeout: .seconds(60))
        #expect(result.status != 0)
        #expect(result.standardError.contains("cannot reach agent 127.0.0.1:1"), "\(result.standardError)")
        try await server.terminate()
    }

    @Test func aBadThreadCountIsRefused() async throws {
        let command = try BenchCommand(["agent", "--stdio", "--threads", "0"])
        let result = try await command.wait(timeout: .seconds(30))
        #expect(result.status != 0)
        #expect(result.standardError.contains("--threads must be 1 to 256"), "\(result.standardError)")
    }
}
