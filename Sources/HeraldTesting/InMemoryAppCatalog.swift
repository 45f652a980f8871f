import HeraldCore
import NIOConcurrencyHelpers

/// An ``AppCatalog`` that lives in memory: for tests and throwaway nodes.
public final class InMemoryAppCatalog: AppCatalog {
    private let apps = NIOLockedValueBox<[ByteString: App]>([:])

    public init(_ apps: [App] = []) {
        self.apps.withLockedValue { storage in
            for app in apps { storage[ByteString(app.id)] = app }
        }
    }

    public func create(_ app: App) async throws {
        try self.apps.withLockedValue { storage in
            let id = ByteString(app.id)
            guard storage[id] == nil else { throw AppCatalogError.alreadyExists(app.id) }
            storage[id] = app
        }
    }

    public func app(id: String) async throws -> App? {
        self.apps.withLockedValue { $0[ByteString(id)] }
    }

    public func list() async throws -> [App] {
        self.apps.withLockedValue { $0.values.sorted { ByteString($0.id) < ByteString($1.id) } }
    }

    public func addSigningKey(_ key: SigningKey, app: String) async throws -> App? {
        try self.apps.withLockedValue { storage in
            guard var current = storage[ByteString(app)] else { return nil }
            guard current.signingKeys.count < SigningKey.maximumPerApp else {
                throw AppCatalogError.tooManySigningKeys(app)
            }
            current.signingKeys.append(key)
            storage[ByteString(app)] = current
            return current
        }
    }

    public func removeSigningKey(id: String, app: String) async throws -> App? {
        self.apps.withLockedValue { storage in
            guard var current = storage[ByteString(app)], current.signingKey(id: id) != nil else { return nil }
            current.signingKeys.removeAll { $0.id == id }
            storage[ByteString(app)] = current
            return current
        }
    }
}
