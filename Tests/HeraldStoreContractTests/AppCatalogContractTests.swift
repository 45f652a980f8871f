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

        /// Signing keys are added and retired one step at a time (concurrent adds all land),
        /// bounded per app, and survive reopening.
        @Test(arguments: StoreKind.allCases)
        func signingKeysAreAddedRetiredAndKept(kind: StoreKind) async throws {
            let app = App(
                id: Fixture.uniqueApp(), secret: "s", epoch: "e", createdAt: Fixture.t0,
                policy: AppPolicy(maxTokenLifetime: 900, secretSignedTokens: false))
            let keys = (0..<SigningKey.maximumPerApp).map {
                SigningKey(id: "k\($0)", secret: "secret-\($0)", createdAt: Fixture.at($0))
            }
            try await StoreFactory.withCatalogHome(kind) { home in
                try await home.withCatalog { catalog in
                    try await catalog.create(app)
                    #expect(try await catalog.addSigningKey(keys[0], app: "no-such-app") == nil)
                    #expect(try await catalog.addSigningKey(keys[0], app: app.id)?.signingKeys == [keys[0]])
                    try await withThrowingTaskGroup(of: Void.self) { group in
                        for key in keys.dropFirst() {
                            group.addTask { _ = try await catalog.addSigningKey(key, app: app.id) }
                        }
                        try await group.waitForAll()
                    }
                    let held = try #require(try await catalog.app(id: app.id)).signingKeys
                    #expect(Set(held.map(\.id)) == Set(keys.map(\.id)))
                    await #expect(throws: AppCatalogError.tooManySigningKeys(app.id)) {
                        _ = try await catalog.addSigningKey(SigningKey(id: "one-more", secret: "x", createdAt: Fixture.t0), app: app.id)
                    }
                    let afterRetire = try await catalog.removeSigningKey(id: "k3", app: app.id)
                    #expect(afterRetire?.signingKeys.map(\.id) == held.map(\.id).filter { $0 != "k3" })
                    #expect(try await catalog.removeSigningKey(id: "k3", app: app.id) == nil)
                    #expect(try await catalog.removeSigningKey(id: "k1", app: "no-such-app") == nil)
                }
                try await home.withCatalog { catalog in
                    let reopened = try #require(try await catalog.app(id: app.id))
                    #expect(reopened.signingKeys.count == SigningKey.maximumPerApp - 1)
                    #expect(reopened.signingKey(id: "k5") == keys[5])
                    #expect(reopened.policy.maxTokenLifetime == 900)
                    #expect(!reopened.policy.secretSignedTokens)
                }
            }
        }
    }
}
