import SQLiteNIO

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Brings a database to ``SQLiteMigrations/latestVersion``, one migration per transaction,
/// recording each applied version in `schema_migrations`. Running it again does nothing.
struct SQLiteMigrator {
    var connection: SQLiteConnection
    var path: String
    var migrations: [SQLiteMigration] = SQLiteMigrations.all

    func migrate() async throws {
        _ = try await self.connection.query(
            """
            CREATE TABLE IF NOT EXISTS schema_migrations (
                version INTEGER PRIMARY KEY NOT NULL,
                name TEXT NOT NULL,
                applied_at REAL NOT NULL
            )
            """
        )
        let current = try await Self.currentVersion(on: self.connection)
        let latest = self.migrations.last?.version ?? 0
        guard current <= latest else {
            throw SQLiteStoreError.newerSchema(path: self.path, found: current, supported: latest)
        }
        for migration in self.migrations where migration.version > current {
            try await self.apply(migration)
        }
    }

    private func apply(_ migration: SQLiteMigration) async throws {
        do {
            _ = try await self.connection.query("BEGIN IMMEDIATE")
            do {
                for statement in migration.statements {
                    _ = try await self.connection.query(statement)
                }
                _ = try await self.connection.query(
                    "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?1, ?2, ?3)",
                    [.integer(migration.version), .text(migration.name), .float(Date().timeIntervalSince1970)]
                )
                _ = try await self.connection.query("COMMIT")
            } catch {
                _ = try? await self.connection.query("ROLLBACK")
                throw error
            }
        } catch let error as SQLiteError {
            throw SQLiteStoreError.migrationFailed(path: self.path, version: migration.version, reason: "\(error)")
        }
    }

    /// The highest applied version, 0 for a new database.
    static func currentVersion(on connection: SQLiteConnection) async throws -> Int {
        let rows = try await connection.query("SELECT COALESCE(MAX(version), 0) AS version FROM schema_migrations")
        return rows.first?.column("version")?.integer ?? 0
    }
}
