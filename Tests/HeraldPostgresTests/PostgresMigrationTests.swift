import HeraldCore
import PostgresNIO
import Testing

@testable import HeraldPostgres

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

    @Test("a migration waits for another process's lock only up to its timeout, and leaves nothing waiting")
    func migrationLockWaitIsBounded() async throws {
        try await PostgresTestEnvironment.withScratchSchema { configuration in
            var impatient = configuration
            impatient.migrationTimeout = .seconds(2)
            try await PostgresTestEnvironment.withClient(configuration) { client in
                try await client.withConnection { holder in
                    // Another process is migrating (and is stuck).
                    try await holder.query("BEGIN", logger: PostgresTestEnvironment.logger)
                    try await holder.query(
                        PostgresMigrator.lockQuery(schema: configuration.quotedSchema),
                        logger: PostgresTestEnvironment.logger
                    )
                    let started = ContinuousClock.now
                    await #expect(throws: MessageStoreError.self) {
                        try await PostgresTestEnvironment.withStore(impatient, migrate: false) { store in
                            try await store.migrate()
                        }
                    }
                    let waited = ContinuousClock.now - started
                    #expect(waited >= .seconds(1), "it failed without waiting for the lock")
                    // Bounded: the 2 s lock wait plus connecting, which a loaded machine can
                    // stretch past 10 s; without the bound it would wait for the holder.
                    #expect(waited < .seconds(60))
                    // The server gave up too: no backend is left queued behind the lock.
                    var waiting = -1
                    for _ in 0..<20 {
                        let rows = try await holder.query(
                            """
                            SELECT count(*)::bigint FROM pg_locks
                            WHERE locktype = 'advisory' AND NOT granted AND classid = \(Int64(PostgresMigrator.lockClass))
                            """,
                            logger: PostgresTestEnvironment.logger
                        ).collect()
                        waiting = Int(try rows.first?.decode(Int64.self) ?? -1)
                        if waiting == 0 { break }
                        try await Task.sleep(for: .milliseconds(100))
                    }
                    #expect(waiting == 0)
                    try await holder.query("ROLLBACK", logger: PostgresTestEnvironment.logger)
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
