import Foundation
import HeraldAPI
import NIOConcurrencyHelpers
import Testing

@Suite("API: node stats")
struct NodeStatsRoutesTests {
    @Test func nodeStatsAnswerTheClosureForAdminsOnly() async throws {
        let stats = NIOLockedValueBox(
            NodeStats(
                connections: 3,
                sessions: 5,
                residentBytes: 12_345_678,
                fanOutPasses: 42,
                longestFanOutSliceSeconds: 0.0025
            )
        )
        try await APIHarness.run(configureDependencies: { dependencies in
            dependencies.nodeStats = { stats.withLockedValue { $0 } }
        }) { server in
            let answer = try await server.get("/v1/stats", bearer: APIHarness.adminKey)
            #expect(answer.status == 200, "\(answer.text)")
            #expect(answer.headers["content-type"]?.hasPrefix("application/json") == true)
            #expect(answer.json?["node"] as? String == "node-a")
            #expect(answer.json?["connections"] as? Int == 3)
            #expect(answer.json?["sessions"] as? Int == 5)
            #expect(answer.json?["residentBytes"] as? Int == 12_345_678)
            #expect(answer.json?["fanOutPasses"] as? Int == 42)
            #expect(answer.json?["longestFanOutSliceSeconds"] as? Double == 0.0025)
            let uptime = try #require(answer.json?["uptimeSeconds"] as? Double)
            #expect(uptime >= 0 && uptime < 600)

            // Read per request, and null when the platform does not tell the memory.
            stats.withLockedValue { $0 = NodeStats(connections: 0, sessions: 0, residentBytes: nil) }
            let later = try await server.get("/v1/stats", bearer: APIHarness.adminKey)
            #expect(later.json?["connections"] as? Int == 0)
            #expect(later.json?.keys.contains("residentBytes") == true)
            #expect(later.json?["residentBytes"] is NSNull)

            expectError(try await server.get("/v1/stats", bearer: nil), 401, "unauthorized")
            expectError(try await server.get("/v1/stats", bearer: APIHarness.appSecret), 401, "unauthorized")
            expectError(try await server.request("POST", "/v1/stats", bearer: APIHarness.adminKey), 405)
        }
    }

    @Test func nodeStatsDefaultToZero() async throws {
        try await APIHarness.run { server in
            let answer = try await server.get("/v1/stats", bearer: APIHarness.adminKey)
            #expect(answer.status == 200, "\(answer.text)")
            #expect(answer.json?["connections"] as? Int == 0)
            #expect(answer.json?["sessions"] as? Int == 0)
        }
    }
}
