import HeraldCore
import NIOConcurrencyHelpers
import Testing

@testable import HeraldAPI

/// What changes in the API on a cluster node: dispatch answers from the cluster, and a new
/// app is announced to the other nodes.
@Suite("API: cluster dispatch and app changes")
struct ClusterRoutesTests {
    @Test func dispatchAnswersFromTheClusterPerUser() async throws {
        let asked = NIOLockedValueBox<[String?]>([])
        try await APIHarness.run(configureDependencies: { dependencies in
            dependencies.dispatch = { user in
                asked.withLockedValue { $0.append(user) }
                return user == "nobody-ready" ? [] : [DispatchEndpoint(node: "n2", tcp: "h2:1", ws: "ws://h2:2/ws")]
            }
        }) { server in
            let answer = try await server.get("/v1/dispatch?app=demo&user=alice", bearer: nil)
            #expect(answer.status == 200, "\(answer.text)")
            let endpoints = try #require(answer.json?["endpoints"] as? [[String: Any]])
            #expect(endpoints.map { $0["node"] as? String } == ["n2"])
            let anonymous = try await server.get("/v1/dispatch?app=demo", bearer: nil)
            #expect(anonymous.status == 200)
            expectError(try await server.get("/v1/dispatch?app=demo&user=nobody-ready", bearer: nil), 503, "no_gateway")
            #expect(asked.withLockedValue { $0 } == ["alice", nil, "nobody-ready"])
        }
    }

    @Test func aCreatedAppIsAnnounced() async throws {
        let announced = NIOLockedValueBox<[String]>([])
        try await APIHarness.run(configureDependencies: { dependencies in
            dependencies.appChanged = { app in announced.withLockedValue { $0.append(app) } }
        }) { server in
            let created = try await server.post("/v1/apps", json: ["id": "news"], bearer: APIHarness.adminKey)
            #expect(created.status == 201)
            _ = try await server.post("/v1/apps", json: ["id": "news"], bearer: APIHarness.adminKey)
            #expect(announced.withLockedValue { $0 } == ["news"])
        }
    }
}
