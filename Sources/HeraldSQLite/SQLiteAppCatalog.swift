import HeraldCore
import SQLiteNIO

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// An ``AppCatalog`` in the `apps` table of ``SQLiteStore``; each app's policy is kept as JSON
/// in its `policy` column.
///
/// Failures of the database surface as ``MessageStoreError/unavailable(_:)``.
public struct SQLiteAppCatalog: AppCatalog {
    private let executor: SQLiteExecutor

    init(executor: SQLiteExecutor) {
        self.executor = executor
    }

    public func create(_ app: App) async throws {
        let policy = try app.policy.storedJSON()
        let inserted = try await self.executor.withConnection { connection in
            try await connection.query(
                """
                INSERT INTO apps (id, secret, webhook, epoch, created_at, policy, signing_keys)
                VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                ON CONFLICT (id) DO NOTHING
                RETURNING id
                """,
                [
                    .text(app.id), .text(app.secret), app.webhook.map(SQLiteData.text) ?? .null, .text(app.epoch),
                    .float(app.createdAt.timeIntervalSince1970), .text(policy),
                    .text(try SigningKey.storedJSON(app.signingKeys)),
                ]
            ).count
        }
        guard inserted == 1 else { throw AppCatalogError.alreadyExists(app.id) }
    }

    public func app(id: String) async throws -> App? {
        let rows = try await self.executor.withConnection { connection in
            try await connection.query(
                "SELECT id, secret, webhook, epoch, created_at, policy, signing_keys FROM apps WHERE id = ?1",
                [.text(id)]
            )
        }
        return try rows.first.map(Self.decode)
    }

    public func list() async throws -> [App] {
        let rows = try await self.executor.withConnection { connection in
            try await connection.query(
                "SELECT id, secret, webhook, epoch, created_at, policy, signing_keys FROM apps ORDER BY id")
        }
        return try rows.map(Self.decode)
    }

    public func addSigningKey(_ key: SigningKey, app: String) async throws -> App? {
        let json = try SigningKey.storedJSON([key])
        let updated = try await self.executor.withConnection { connection in
            try await connection.query(
                """
                UPDATE apps SET signing_keys = json_insert(signing_keys, '$[#]', json_extract(?2, '$[0]'))
                WHERE id = ?1 AND json_array_length(signing_keys) < ?3
                RETURNING id
                """,
                [.text(app), .text(json), .count(SigningKey.maximumPerApp)]
            ).count
        }
        guard let current = try await self.app(id: app) else { return nil }
        guard updated == 1 else { throw AppCatalogError.tooManySigningKeys(app) }
        return current
    }

    public func removeSigningKey(id: String, app: String) async throws -> App? {
        let updated = try await self.executor.withConnection { connection in
            try await connection.query(
                """
                UPDATE apps SET signing_keys = (
                    SELECT json_group_array(json(k.value)) FROM json_each(apps.signing_keys) AS k
                    WHERE json_extract(k.value, '$.id') IS NOT ?2
                )
                WHERE id = ?1 AND EXISTS (
                    SELECT 1 FROM json_each(apps.signing_keys) AS k WHERE json_extract(k.value, '$.id') = ?2
                )
                RETURNING id
                """,
                [.text(app), .text(id)]
            ).count
        }
        guard updated == 1 else { return nil }
        return try await self.app(id: app)
    }

    private static func decode(_ row: SQLiteRow) throws -> App {
        guard let id = row.column("id")?.string,
            let secret = row.column("secret")?.string,
            let epoch = row.column("epoch")?.string,
            let createdAt = row.column("created_at")?.double,
            let policyJSON = row.column("policy")?.string,
            let policy = try? AppPolicy(storedJSON: policyJSON),
            let keysJSON = row.column("signing_keys")?.string,
            let signingKeys = try? SigningKey.keys(storedJSON: keysJSON)
        else {
            throw MessageStoreError.unavailable("the apps table holds a malformed row")
        }
        return App(
            id: id,
            secret: secret,
            webhook: row.column("webhook")?.string,
            epoch: epoch,
            createdAt: Date(timeIntervalSince1970: createdAt),
            policy: policy,
            signingKeys: signingKeys
        )
    }
}
