import HeraldCore
import Testing

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

extension MessageStoreContract {
    /// The app catalog keeps each app's epoch and policy, across reopening.
    @Suite("App catalog")
    struct AppCatalogContractTests {
        @Test(arguments: StoreKind.allCases)
        func epochAndPolicySurviveReopening(kind: StoreKind) async throws {
            let policy = AppPolicy(
                inboxLimit: 25,
                defaultTTL: 120,
                maxTTL: 3600,
                broadcastTTL: 30,
                broadcastLimit: 0,
                deadLetters: .drop
            )
            let custom = App(
                id: Fixture.uniqueApp(),
                secret: "s3cret",
                webhook: "https://example.com/hook",
                epoch: "epoch-\(UUID().uuidString)",
                createdAt: Fixture.t0,
                policy: policy
            )
            let plain = App(id: Fixture.uniqueApp(), secret: "plain", epoch: "e2", createdAt: Fixture.at(1))
            try await StoreFactory.withCatalogHome(kind) { home in
                try await home.withCatalog { catalog in
                    try await catalog.create(custom)
                    try await catalog.create(plain)
                    #expect(try await catalog.app(id: custom.id) == custom)
                    await #expect(throws: AppCatalogError.alreadyExists(plain.id)) {
                        try await catalog.create(App(id: plain.id, secret: "x", epoch: "other", createdAt: Fixture.t0))
                    }
                }
                try await home.withCatalog { catalog in
                    #expect(try await catalog.app(id: custom.id) == custom)
                    #expect(try await catalog.app(id: custom.id)?.epoch == custom.epoch)
                    #expect(try await catalog.app(id: custom.id)?.policy == policy)
                    #expect(try await catalog.app(id: plain.id)?.policy == AppPolicy())
                    #expect(try await catalog.app(id: plain.id)?.epoch == "e2")
                    let listed = try await catalog.list().filter { [custom.id, plain.id].contains($0.id) }
                    #expect(listed == [custom, plain].sorted { $0.id < $1.id })
                }
            }
        }
    }
}
