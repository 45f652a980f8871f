import HeraldCore
import HeraldPostgres
import Testing

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

@Suite("PostgreSQL app catalog")
struct PostgresAppCatalogTests {
    @Test("apps round-trip with their webhook, epoch and policy; ids are unique")
    func roundTrip() async throws {
        try await PostgresTestEnvironment.withScratchSchema { configuration in
            try await PostgresTestEnvironment.withStore(configuration) { store in
                let policy = AppPolicy(
                    inboxLimit: 12,
                    defaultTTL: 60,
                    maxTTL: 3600,
                    broadcastTTL: 30,
                    broadcastLimit: 0,
                    deadLetters: .drop
                )
                let first = App(
                    id: PostgresTestEnvironment.appID("catalog-a"),
                    secret: "secret-a",
                    webhook: "http://127.0.0.1:9/hook",
                    epoch: "epoch-a",
                    createdAt: Date(timeIntervalSince1970: 1_700_000_000.25),
                    policy: policy
                )
                let second = App(
                    id: PostgresTestEnvironment.appID("catalog-b"),
                    secret: "secret-b",
                    epoch: "epoch-b",
                    createdAt: Date(timeIntervalSince1970: 1_700_000_123.5)
                )
                try await store.catalog.create(first)
                try await store.catalog.create(second)
                #expect(try await store.catalog.app(id: first.id) == first)
                #expect(try await store.catalog.app(id: second.id) == second)
                #expect(try await store.catalog.app(id: "catalog-missing-\(UUID())") == nil)

                let listed = try await store.catalog.list().filter { $0.id == first.id || $0.id == second.id }
                #expect(listed == [first, second])

                var clash = second
                clash.secret = "other"
                await #expect(throws: AppCatalogError.alreadyExists(second.id)) {
                    try await store.catalog.create(clash)
                }
                #expect(try await store.catalog.app(id: second.id)?.secret == "secret-b")
            }
        }
    }

    @Test("a second store (another process) sees the apps")
    func sharedAcrossStores() async throws {
        let app = App(
            id: PostgresTestEnvironment.appID("shared"), secret: "s", epoch: "e",
            createdAt: Date(timeIntervalSince1970: 1))
        try await PostgresTestEnvironment.withScratchSchema { configuration in
            try await PostgresTestEnvironment.withStore(configuration) { try await $0.catalog.create(app) }
            try await PostgresTestEnvironment.withStore(configuration) { store in
                let found = try await store.catalog.app(id: app.id)
                #expect(found == app)
                #expect(try await store.catalog.list() == [app])
            }
        }
    }
}
