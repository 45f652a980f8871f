import HeraldPostgres
import PostgresNIO
import Testing

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

@Suite("PostgreSQL migrations")
struct PostgresMigrationTests {
    @Test("a new schema migrates to the latest version, and migrating again changes nothing")
    func migratesOnceAndIsIdempotent() async throws {
        try await PostgresTestEnvironment.withScratchSchema { configuration in
            try await PostgresTestEnvironment.withStore(configuration, migrate: false) { store in
                #expect(try await store.schemaVersion() == 0)
                try await store.migrate()
                #expect(try await store.schemaVersion() == PostgresStore.latestSchemaVersion)
                try await store.migrate()
                #expect(try await store.schemaVersion() == PostgresStore.latestSchemaVersion)
            }
            try await PostgresTestEnvironment.withClient(configuration) { client in
                let rows = try await client.query("SELECT version FROM herald_migrations ORDER BY version").collect()
                let versions = try rows.map { try $0.decode(Int32.self) }
                #expect(versions == Array(1...Int32(PostgresStore.latestSchemaVersion)))
            }
        }
    }

    @Test("two stores (two pools, as two processes) migrating one new schema at once both succeed")
    func concurrentMigrations() async throws {
        try await PostgresTestEnvironment.withScratchSchema { configuration in
            try await PostgresTestEnvironment.withStore(configuration, migrate: false) { first in
                try await PostgresTestEnvironment.withStore(configuration, migrate: false) { second in
                    async let a: Void = first.migrate()
                    async let b: Void = second.migrate()
                    _ = try await (a, b)
                    #expect(try await first.schemaVersion() == PostgresStore.latestSchemaVersion)
                    #expect(try await second.schemaVersion() == PostgresStore.latestSchemaVersion)
                    // Both work on the one schema.
                    let app = PostgresTestEnvironment.appID()
                    #expect(
                        try await first.messages.appendBroadcast(
                            app: app, payload: .init(), ttl: .seconds(60), keep: 1, now: .now) == 1)
                    #expect(try await second.messages.lastBroadcastSequence(app: app) == 1)
                }
            }
        }
    }

    @Test("a database migrated by a newer Herald is refused")
    func newerSchemaIsRefused() async throws {
        try await PostgresTestEnvironment.withScratchSchema { configuration in
            try await PostgresTestEnvironment.withStore(configuration) { store in
                try await PostgresTestEnvironment.withClient(configuration) { client in
                    try await client.query(
                        "INSERT INTO herald_migrations (version, name) VALUES (9999, 'from the future')")
                }
                await #expect(
                    throws: PostgresStoreError.newerSchema(found: 9999, supported: PostgresStore.latestSchemaVersion)
                ) {
                    try await store.migrate()
                }
            }
        }
    }
}
