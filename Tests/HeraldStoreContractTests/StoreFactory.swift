import HeraldCore
import HeraldSQLite
import HeraldTesting

/// Makes a fresh store of each kind for one test.
enum StoreFactory {
    /// Runs `body` with a new, empty store of `kind` and releases it afterwards.
    static func withStore(_ kind: StoreKind, _ body: (any MessageStore) async throws -> Void) async throws {
        let (store, cleanup) = try await Self.makeStore(kind)
        do {
            try await body(store)
        } catch {
            try? await cleanup()
            throw error
        }
        try await cleanup()
    }

    static func makeStore(_ kind: StoreKind) async throws -> (
        any MessageStore, cleanup: @Sendable () async throws -> Void
    ) {
        switch kind {
        case .memory:
            return (InMemoryMessageStore(), cleanup: {})
        case .sqlite:
            let directory = try TemporaryDirectory()
            let store: SQLiteStore
            do {
                store = try await SQLiteStore.open(directory: directory.path)
            } catch {
                directory.remove()
                throw error
            }
            return (
                store.messages,
                cleanup: {
                    defer { directory.remove() }
                    try await store.close()
                }
            )
        case .postgres:
            return try await makePostgresStore()
        }
    }

    /// Runs `body` with a place where an app catalog of `kind` lives across reopenings.
    static func withCatalogHome(_ kind: StoreKind, _ body: (CatalogHome) async throws -> Void) async throws {
        switch kind {
        case .memory:
            // Memory survives nothing: "reopening" hands back the same catalog.
            let catalog = InMemoryAppCatalog()
            try await body(CatalogHome { (catalog, cleanup: {}) })
        case .sqlite:
            let directory = try TemporaryDirectory()
            defer { directory.remove() }
            try await body(
                CatalogHome {
                    let store = try await SQLiteStore.open(directory: directory.path)
                    return (store.catalog, cleanup: { try await store.close() })
                }
            )
        case .postgres:
            try await body(CatalogHome { try await makePostgresCatalog() })
        }
    }
}

/// Opens the same catalog again and again, as a restarted node would.
struct CatalogHome: Sendable {
    typealias Open = @Sendable () async throws -> (any AppCatalog, cleanup: @Sendable () async throws -> Void)

    private let openCatalog: Open

    init(open: @escaping Open) {
        self.openCatalog = open
    }

    /// Opens the catalog, runs `body` with it and closes it.
    func withCatalog(_ body: (any AppCatalog) async throws -> Void) async throws {
        let (catalog, cleanup) = try await self.openCatalog()
        do {
            try await body(catalog)
        } catch {
            try? await cleanup()
            throw error
        }
        try await cleanup()
    }
}
