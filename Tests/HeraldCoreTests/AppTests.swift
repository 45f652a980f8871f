import Foundation
import HeraldCore
import HeraldTesting
import Testing

@Suite struct AppTests {
    static func app(_ id: String, secret: String = "s") -> App {
        App(id: id, secret: secret, epoch: "e-\(id)", createdAt: Date(timeIntervalSince1970: 1_700_000_000))
    }

    @Test func validIDs() {
        for id in [
            "a", "demo", "Demo-App_1.2", String(repeating: "x", count: 64), "0", "-", "_", ".", "a.b", "ABC-xyz_09",
        ] {
            #expect(App.isValidID(id), "\(id)")
        }
    }

    @Test func invalidIDs() {
        let invalid = [
            "", String(repeating: "x", count: 65), "a b", "a/b", "a\\b", "é", "😀", "a:b", "a\n", "\0", "a*", "a%2F",
            "a?b", "a#b", "a+b", "a@b", " a", "a\t",
        ]
        for id in invalid {
            #expect(!App.isValidID(id), "\(id.debugDescription)")
        }
    }

    @Test func inMemoryCatalog() async throws {
        let catalog = InMemoryAppCatalog([Self.app("b")])
        try await catalog.create(Self.app("a"))
        try await catalog.create(Self.app("c"))
        #expect(try await catalog.list().map(\.id) == ["a", "b", "c"])
        #expect(try await catalog.app(id: "a") == Self.app("a"))
        #expect(try await catalog.app(id: "zzz") == nil)
    }

    @Test func inMemoryCatalogRejectsDuplicate() async throws {
        let catalog = InMemoryAppCatalog([Self.app("demo", secret: "first")])
        await #expect(throws: AppCatalogError.alreadyExists("demo")) {
            try await catalog.create(Self.app("demo", secret: "second"))
        }
        // The first app is kept.
        #expect(try await catalog.app(id: "demo")?.secret == "first")
        try await catalog.create(Self.app("other"))
        await #expect(throws: AppCatalogError.alreadyExists("other")) { try await catalog.create(Self.app("other")) }
        #expect(try await catalog.list().count == 2)
    }

    @Test func concurrentCreateOfOneIDSucceedsOnce() async throws {
        let catalog = InMemoryAppCatalog()
        let successes = await withTaskGroup(of: Bool.self) { group in
            for index in 0..<50 {
                group.addTask {
                    do {
                        try await catalog.create(Self.app("same", secret: "\(index)"))
                        return true
                    } catch {
                        return false
                    }
                }
            }
            return await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
        #expect(successes == 1)
    }

    @Test func registry() async throws {
        let registry = AppRegistry([Self.app("a", secret: "1"), Self.app("a", secret: "2"), Self.app("b")])
        #expect(registry.count == 2)
        #expect(registry.app(id: "a")?.secret == "2")
        registry.upsert(Self.app("c"))
        registry.upsert(Self.app("a", secret: "3"))
        #expect(registry.count == 3)
        #expect(registry.app(id: "a")?.secret == "3")

        let catalog = InMemoryAppCatalog([Self.app("x"), Self.app("y")])
        try await registry.load(from: catalog)
        #expect(registry.count == 2)
        #expect(registry.app(id: "a") == nil)
        #expect(registry.app(id: "y") == Self.app("y"))

        registry.replaceAll(with: [])
        #expect(registry.count == 0)
    }

    @Test func appCodableRoundTrip() throws {
        let app = App(
            id: "demo", secret: "s", webhook: "http://127.0.0.1:9/hook", epoch: "e",
            createdAt: Date(timeIntervalSince1970: 1_700_000_000.5))
        let decoded = try JSONDecoder().decode(App.self, from: JSONEncoder().encode(app))
        #expect(decoded == app)
    }
}
