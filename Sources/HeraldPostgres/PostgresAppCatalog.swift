import HeraldCore
import PostgresNIO

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// An ``AppCatalog`` in the `apps` table of ``PostgresStore``, shared by every Herald process
/// using the database. The policy is kept as JSON, so fields added later take their defaults.
///
/// Failures of the database surface as ``MessageStoreError/unavailable(_:)``.
public struct PostgresAppCatalog: AppCatalog {
    private let executor: PostgresExecutor

    init(executor: PostgresExecutor) {
        self.executor = executor
    }

    public func create(_ app: App) async throws {
        let policy = try app.policy.storedJSON()
        let keys = try SigningKey.storedJSON(app.signingKeys)
        let rows = try await self.executor.withConnection { connection in
            try await self.executor.run(
                connection,
                """
                INSERT INTO apps (id, secret, webhook, epoch, created_at, policy, signing_keys)
                VALUES (\(app.id), \(app.secret), \(app.webhook)::text, \(app.epoch), \(app.createdAt.timeIntervalSince1970),
                        \(policy)::jsonb, \(keys)::jsonb)
                ON CONFLICT (id) DO NOTHING
                RETURNING id
                """
            ).count
        }
        guard rows == 1 else { throw AppCatalogError.alreadyExists(app.id) }
    }

    public func app(id: String) async throws -> App? {
        let rows = try await self.executor.withConnection { connection in
            try await self.executor.run(
                connection,
                "SELECT id, secret, webhook, epoch, created_at, policy::text, signing_keys::text FROM apps WHERE id = \(id)"
            )
        }
        return try rows.first.map(Self.decode)
    }

    public func list() async throws -> [App] {
        let rows = try await self.executor.withConnection { connection in
            try await self.executor.run(
                connection,
                "SELECT id, secret, webhook, epoch, created_at, policy::text, signing_keys::text FROM apps ORDER BY id COLLATE \"C\""
            )
        }
        return try rows.map(Self.decode)
    }


    public func addSigningKey(_ key: SigningKey, app: String) async throws -> App? {
        let json = try SigningKey.storedJSON([key])
        let limit = SigningKey.maximumPerApp
        let updated = try await self.executor.withConnection { connection in
            try await self.executor.run(
                connection,
                """
                UPDATE apps SET signing_keys = signing_keys || \(json)::jsonb
                WHERE id = \(app) AND jsonb_array_length(signing_keys) < \(limit)
                RETURNING id
                """
            ).count
        }
        guard let current = try await self.app(id: app) else { return nil }
        guard updated == 1 else { throw AppCatalogError.tooManySigningKeys(app) }
        return current
    }

    public func removeSigningKey(id: String, app: String) async throws -> App? {
        let updated = try await self.executor.withConnection { connection in
            try await self.executor.run(
                connection,
                """
                UPDATE apps SET signing_keys = COALESCE(
                    (SELECT jsonb_agg(k ORDER BY n) FROM jsonb_array_elements(signing_keys) WITH ORDINALITY AS e(k, n)
                     WHERE k->>'id' IS DISTINCT FROM \(id)),
                    '[]'::jsonb)
                WHERE id = \(app) AND signing_keys @> jsonb_build_array(jsonb_build_object('id', \(id)::text))
                RETURNING id
                """
            ).count
        }
        guard updated == 1 else { return nil }
        return try await self.app(id: app)
    }

    private static func decode(_ row: PostgresRow) throws -> App {
        do {
            let (id, secret, webhook, epoch, createdAt, policy, keys) = try row.decode(
                (String, String, String?, String, Double, String, String).self
            )
            return App(
                id: id,
                secret: secret,
                webhook: webhook,
                epoch: epoch,
                createdAt: Date(timeIntervalSince1970: createdAt),
                policy: try AppPolicy(storedJSON: policy),
                signingKeys: try SigningKey.keys(storedJSON: keys)
            )
        } catch {
            throw MessageStoreError.unavailable("the apps table holds a malformed row: \(error)")
        }
    }
}
