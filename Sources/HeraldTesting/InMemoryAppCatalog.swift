import HeraldCore
import NIOConcurrencyHelpers

/// An ``AppCatalog`` that lives in memory: for tests and throwaway nodes.
public final class InMemoryAppCatalog: AppCatalog {
    private let apps = NIOLockedValueBox<[String: App]>([:])

    public init(_ apps: [App] = []) {
        self.apps.withLockedValue { storage in
            for app in apps { storage[app.id] = app }
        }
    }

    public func create(_ app: App) async throws {
        try self.apps.withLockedValue { storage in
            guard storage[app.id] == nil else { throw AppCatalogError.alreadyExists(app.id) }
            storage[app.id] = app
        }
    }

    public func app(id: String) async throws -> App? {
        self.apps.withLockedValue { $0[id] }
    }

    public func list() async throws -> [App] {
        self.apps.withLockedValue { $0.values.sorted { $0.id < $1.id } }
    }
}
