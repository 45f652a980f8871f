import Foundation
import HeraldTestUtils
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// `herald-bench` against three `herald serve` nodes sharing PostgreSQL and Redis (both from
/// scripts/test, which sets their URLs; without them the suite does not run).
@Suite(
    "herald-bench against a cluster", .serialized, .timeLimit(.minutes(3)),
    .enabled(
        if: ProcessInfo.processInfo.environment["HERALD_TEST_POSTGRES_URL"] != nil
            && ProcessInfo.processInfo.environment["HERALD_TEST_REDIS_URL"] != nil
    )
)
struct ClusterBenchTests {
    static let postgres = Self.environment("HERALD_TEST_POSTGRES_URL")
    static let redis = Self.environment("HERALD_TEST_REDIS_URL")

    static func environment(_ name: String) -> String? {
        ProcessInfo.processInfo.environment[name].flatMap { $0.isEmpty ? nil : $0 }
    }

    @Test func unicastsSpreadByDispatchOverThreeNodes() async throws {
        let postgres = try #require(Self.postgres)
        let redis = try #require(Self.redis)
        let namespace = "bench-" + UUID().uuidString.prefix(8).lowercased()
        // One admin key for the cluster: the bench asks each API for its node with it.
        let adminKey = "admin-" + UUID().uuidString.lowercased()
        var nodes: [HeraldProcess] = []
        for name in ["a", "b", "c"] {
            nodes.append(
                try await HeraldProcess.start(
                    [
                        "--store", postgres, "--redis", redis, "--redis-namespace", namespace,
                        "--node-id", "\(namespace)-\(name)", "--drain-timeout", "1", "--event-loops", "1",
                    ],
                    environment: ["HERALD_ADMIN_KEY": adminKey]
                ))
        }
        // A node's lease may come a moment after its ready line: wait until dispatch names all three.
        let apis = nodes.map { $0.apiBaseURL.absoluteString }
        let dispatched = await eventually(timeout: .seconds(10)) {
            guard let url = URL(string: "\(apis[0])/v1/dispatch?app=probe&user=probe"),
                let (data, _) = try? await URLSession.shared.data(from: url),
                let answer = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
            else { return false }
            return (answer["endpoints"] as? [Any])?.count == 3
        }
        #expect(dispatched)

        // Pushes through two of the three APIs, round-robin; the third node's clients get
        // theirs over the bus.
        let run = try await BenchCommandTests.bench([
            "unicast", "--api", "\(apis[0]),\(apis[1])", "--admin-key", adminKey,
            "--redis-stats", redis, "--connections", "60", "--duration", "1", "--rate", "500", "--batch", "10",
        ])
        for node in nodes { _ = try await node.terminate() }

        let settings = run.object("settings")
        #expect(settings["viaDispatch"] as? Bool == true)
        #expect(run.object("connect")["authenticated"] as? Int == 60)
        let cluster = run.object("cluster")
        let spread = try #require(cluster["nodes"] as? [[String: Any]])
        #expect(spread.count == 3)
        #expect(spread.compactMap { $0["clients"] as? Int }.reduce(0, +) == 60)
        #expect(spread.compactMap { $0["takesPushes"] as? Bool } == [true, true, false])
        #expect(cluster["apiNodes"] as? [String] == ["\(namespace)-a", "\(namespace)-b"])
        // Every push arrived, and some (a third's and more) crossed nodes.
        let pushes = try #require(run.figures["pushes"])
        #expect(pushes > 0)
        #expect(run.figures["delivered"] == pushes)
        #expect(cluster["deliveries"] as? Int == Int(pushes))
        let crossing = try #require(cluster["crossNode"] as? Int)
        #expect(crossing > 0 && crossing < Int(pushes))
        // The Redis figures count what ran: registering a session takes commands.
        #expect((run.figures["redisCommandsPerAuth"] ?? 0) >= 1)
        #expect(run.figures["redisCommandsPerRequest"] != nil)
        #expect(run.result.standardOutput.contains("clients per node (dispatch)"))
        #expect(run.result.standardOutput.contains("deliveries across nodes"))
    }
}
