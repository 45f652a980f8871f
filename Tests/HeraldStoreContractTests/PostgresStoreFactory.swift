import HeraldCore
import HeraldPostgres

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The test PostgreSQL is missing: run the tests through `scripts/test`, which starts it.
struct PostgresNotConfigured: Error, CustomStringConvertible {
    var description: String {
        "HERALD_TEST_POSTGRES_URL is not set: run the tests through scripts/test, which starts PostgreSQL (scripts/lib/postgres.sh)"
    }
}

/// The test database's URL with Herald's tables in `schema`.
private func postgresURL(schema: String?) throws -> String {
    guard let url = ProcessInfo.processInfo.environment["HERALD_TEST_POSTGRES_URL"], !url.isEmpty else {
        throw PostgresNotConfigured()
    }
    guard let schema else { return url }
    return url + (url.contains("?") ? "&" : "?") + "schema=" + schema
}

/// Opens a store on `url`, runs its connection pool in a task of its own (a factory has no
/// task group to put it in) and migrates; the cleanup cancels the pool's task and waits.
private func openPostgresStore(url: String) async throws -> (PostgresStore, cleanup: @Sendable () async throws -> Void)
{
    var configuration = try PostgresStore.Configuration(url: url)
    // Many stores run at once: on a loaded machine a connection can take longer than the
    // production default of 3 s.
    configuration.leaseTimeout = .seconds(15)
    let store = PostgresStore(configuration: configuration)
    let pool = Task { try await store.run() }
    let cleanup: @Sendable () async throws -> Void = {
        pool.cancel()
        _ = await pool.result
    }
    do {
        try await store.migrate()
    } catch {
        try? await cleanup()
        throw error
    }
    return (store, cleanup)
}

/// A ``MessageStore`` on the test PostgreSQL, with what undoes it.
///
/// Each store gets a schema of its own in the test database (Herald's `schema=` URL
/// parameter), so it holds only its test's rows, as SQLite's file does: a `purge` counts
/// exactly, and nothing else using the database (a `herald serve` sweeping it) touches it.
/// The schemas stay until `scripts/test` throws the database away.
func makePostgresStore() async throws -> (any MessageStore, cleanup: @Sendable () async throws -> Void) {
    let schema = "contract_" + UUID().uuidString.lowercased().filter { $0 != "-" }
    let (store, cleanup) = try await openPostgresStore(url: try postgresURL(schema: schema))
    return (store.messages, cleanup)
}

/// An ``AppCatalog`` on the test PostgreSQL. Each call opens it afresh on the same
/// database, which is what "reopening" means for the catalog contract.
func makePostgresCatalog() async throws -> (any AppCatalog, cleanup: @Sendable () async throws -> Void) {
    let (store, cleanup) = try await openPostgresStore(url: try postgresURL(schema: nil))
    return (store.catalog, cleanup)
}
