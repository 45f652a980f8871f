import HeraldCore
import PostgresNIO

/// Brings the database to ``PostgresMigrations/latestVersion`` in one transaction, recording
/// each applied step in `herald_migrations`. Running it again does nothing.
///
/// The transaction first takes a transaction-scoped advisory lock on the schema, so when
/// several Herald processes start at once, one migrates and the others wait, then find
/// nothing to do. Migrations of different schemas in one database do not wait for each other.
struct PostgresMigrator {
    /// The advisory lock's first key: "hmig" in ASCII, unlikely to collide with anyone
    /// else's. The second is `hashtext` of the schema's name.
    static let lockClass: Int32 = 0x686d_6967

    var executor: PostgresExecutor
    /// Created first when given, as a quoted identifier.
    var schema: String?
    var migrations: [PostgresMigration] = PostgresMigrations.all
    var timeout: Duration

    /// Applies the missing migrations; returns the versions applied now.
    @discardableResult
    func migrate() async throws -> [Int] {
        let migrations = self.migrations
        return try await self.executor.transaction(callTimeout: self.timeout) { connection in
            // Waiting for another process's migration, or a migration's own statements, may
            // take longer than a call's timeouts, but not forever.
            let milliseconds = PostgresExecutor.serverTimeout(for: self.timeout)
            for setting in ["lock_timeout", "statement_timeout"] {
                try await self.executor.run(
                    connection,
                    PostgresQuery(unsafeSQL: "SET LOCAL \(setting) = '\(milliseconds)ms'")
                )
            }
            try await self.executor.run(connection, Self.lockQuery(schema: self.schema))
            if let schema = self.schema {
                try await self.executor.run(connection, "CREATE SCHEMA IF NOT EXISTS \(unescaped: schema)")
            }
            try await self.executor.run(
                connection,
                """
                CREATE TABLE IF NOT EXISTS herald_migrations (
                    version integer PRIMARY KEY,
                    name text NOT NULL,
                    applied_at timestamptz NOT NULL DEFAULT now()
                )
                """
            )
            let current = try await Self.currentVersion(connection, executor: self.executor)
            let latest = migrations.last?.version ?? 0
            guard current <= latest else {
                throw PostgresStoreError.newerSchema(found: current, supported: latest)
            }
            var applied: [Int] = []
            for migration in migrations where migration.version > current {
                do {
                    for statement in migration.statements {
                        try await self.executor.run(connection, PostgresQuery(unsafeSQL: statement))
                    }
                    try await self.executor.run(
                        connection,
                        "INSERT INTO herald_migrations (version, name) VALUES (\(migration.version), \(migration.name))"
                    )
                } catch let error as PSQLError where error.code == .server {
                    throw PostgresStoreError.migrationFailed(
                        version: migration.version,
                        reason: PostgresExecutor.describe(error)
                    )
                }
                applied.append(migration.version)
            }
            return applied
        }
    }

    /// Takes the migration lock of `schema` (a quoted identifier), or of the connection's
    /// current schema when nil.
    static func lockQuery(schema: String?) -> PostgresQuery {
        if let schema {
            return "SELECT pg_advisory_xact_lock(\(Self.lockClass), hashtext(\(schema)))"
        }
        return "SELECT pg_advisory_xact_lock(\(Self.lockClass), hashtext(COALESCE(current_schema(), '')))"
    }

    /// The highest applied version, 0 for a new database.
    static func currentVersion(_ connection: PostgresConnection, executor: PostgresExecutor) async throws -> Int {
        let rows = try await executor.run(
            connection,
            """
            SELECT COALESCE(MAX(version), 0)::bigint FROM herald_migrations
            """
        )
        return Int(try rows.first?.decode(Int64.self) ?? 0)
    }
}
