import Foundation
import HeraldCore
import HeraldTesting
import Testing

@testable import HeraldAPI

/// Requests for apps that do not exist: answered from memory, and indistinguishable from a
/// wrong secret, so app ids cannot be probed; `/metrics` names apps only to the admin.
@Suite("API: unknown apps")
struct UnknownAppTests {
    static var body: [String: Any] { ["users": ["a"], "payload": "x"] }

    @Test(arguments: [APIHarness.appSecret, "wrong-secret-0123456789abcdef"])
    func unknownAppAnswersLikeAWrongSecret(secret: String) async throws {
        try await APIHarness.run { server in
            let wrongSecret = try await server.post("/v1/apps/demo/messages", json: Self.body, bearer: "not-the-secret")
            let unknownApp = try await server.post("/v1/apps/ghost/messages", json: Self.body, bearer: secret)
            expectError(wrongSecret, 401, "unauthorized")
            #expect(unknownApp.status == wrongSecret.status)
            #expect(unknownApp.headers.filter { $0.key != "date" } == wrongSecret.headers.filter { $0.key != "date" })
            #expect(unknownApp.body == wrongSecret.body, "\(unknownApp.text) vs \(wrongSecret.text)")
        }
    }

    @Test func unknownAppsCauseNoStoreRead() async throws {
        let app = App(id: "demo", secret: APIHarness.appSecret, epoch: "epoch-1", createdAt: Date(), policy: AppPolicy())
        let catalog = CountingAppCatalog(InMemoryAppCatalog([app]))
        try await APIHarness.run(
            configureDependencies: {
                $0.catalog = catalog
                $0.apps = AppRegistry([app], refreshInterval: .seconds(3600))
            }
        ) { server in
            for index in 0..<1000 {
                let answer = try await server.post("/v1/apps/ghost-\(index)/messages", json: Self.body)
                #expect(answer.status == 401)
            }
            #expect(catalog.reads == 0)
            #expect(try await server.post("/v1/apps/demo/messages", json: Self.body).status == 200)
        }
    }

    @Test func metricsNameAppsOnlyToTheAdmin() async throws {
        try await APIHarness.run { server in
            #expect(try await server.post("/v1/apps/demo/messages", json: Self.body).status == 200)
            let open = try await server.get("/metrics", bearer: nil)
            #expect(open.status == 200)
            #expect(open.text.contains("herald_api_requests_total{"))
            #expect(!open.text.contains("demo"), "\(open.text)")
            let admin = try await server.get("/metrics", bearer: APIHarness.adminKey)
            #expect(admin.text.contains(#"herald_messages_accepted_total{app="demo",kind="user"} 1"#), "\(admin.text)")
        }
    }
}
