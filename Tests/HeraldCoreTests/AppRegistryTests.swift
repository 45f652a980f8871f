import Foundation
import HeraldCore
import HeraldTesting
import NIOConcurrencyHelpers
import Testing

/// The registry as a negative cache: misses read the catalog at most once per interval.
@Suite("AppRegistry")
struct AppRegistryTests {
    static func app(_ id: String) -> App {
        App(id: id, secret: "secret-\(id)", epoch: "epoch-1", createdAt: Date(), policy: AppPolicy())
    }

    /// Counts `list()` calls on an in-memory catalog.
    final class ListingCatalog: AppCatalog {
        let base = InMemoryAppCatalog()
        private let counter = NIOLockedValueBox(0)
        var lists: Int { self.counter.withLockedValue { $0 } }

        func create(_ app: App) async throws { try await self.base.create(app) }
        func app(id: String) async throws -> App? { try await self.base.app(id: id) }
        func list() async throws -> [App] {
            self.counter.withLockedValue { $0 += 1 }
            return try await self.base.list()
        }
        func addSigningKey(_ key: SigningKey, app: String) async throws -> App? {
            try await self.base.addSigningKey(key, app: app)
        }
        func removeSigningKey(id: String, app: String) async throws -> App? {
            try await self.base.removeSigningKey(id: id, app: app)
        }
    }

    @Test func missesWithinTheIntervalAreAnsweredFromMemory() async throws {
        let catalog = ListingCatalog()
        try await catalog.create(Self.app("made-elsewhere"))
        let registry = AppRegistry([Self.app("demo")], refreshInterval: .seconds(3600))
        #expect(try await registry.lookup(id: "demo", in: catalog)?.id == "demo")
        for index in 0..<100 {
            #expect(try await registry.lookup(id: "ghost-\(index)", in: catalog) == nil)
        }
        #expect(try await registry.lookup(id: "made-elsewhere", in: catalog) == nil)
        #expect(catalog.lists == 0)
    }

    @Test func aMissAfterTheIntervalReloadsOnce() async throws {
        let catalog = ListingCatalog()
        try await catalog.create(Self.app("made-elsewhere"))
        let registry = AppRegistry([Self.app("demo")], refreshInterval: .zero)
        #expect(try await registry.lookup(id: "made-elsewhere", in: catalog)?.secret == "secret-made-elsewhere")
        #expect(catalog.lists == 1)
        // Apps the registry had stay, known apps need no reload.
        #expect(try await registry.lookup(id: "demo", in: catalog)?.id == "demo")
        #expect(registry.app(id: "made-elsewhere") != nil)
        #expect(catalog.lists == 1)
    }
}
