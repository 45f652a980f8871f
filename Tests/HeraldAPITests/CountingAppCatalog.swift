import HeraldCore
import NIOConcurrencyHelpers

/// An ``AppCatalog`` that counts the reads it passes on to another.
final class CountingAppCatalog: AppCatalog {
    private let base: any AppCatalog
    private let counter = NIOLockedValueBox(0)

    init(_ base: any AppCatalog) {
        self.base = base
    }

    /// Calls of `app(id:)` and `list()` so far.
    var reads: Int { self.counter.withLockedValue { $0 } }

    func create(_ app: App) async throws {
        try await self.base.create(app)
    }

    func app(id: String) async throws -> App? {
        self.counter.withLockedValue { $0 += 1 }
        return try await self.base.app(id: id)
    }

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
