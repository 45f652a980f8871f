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
        let rows = try await self.executor.withConnection { connection in
            try await self.executor.run(
                connection,
                """
                INSERT INTO apps (id, secret, webhook, epoch, created_at, policy)
                VALUES (\(app.id), \(app.secret), \(app.webhook)::text, \(app.epoch), \(app.createdAt.timeIntervalSince1970),
                        \(policy)::jsonb)
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
                "SELECT id, secret, webhook, epoch, created_at, policy::text FROM apps WHERE id = \(id)"
            )
        }
        return try rows.first.map(Self.decode)
    }

    public func list() async throws -> [App] {
        let rows = try await self.executor.withConnection { connection in
            try await self.executor.run(
                connection,
                "SELECT id, secret, webhook, epoch, created_at, policy::text FROM apps ORDER BY id COLLATE \"C\""
            )
        }
        return try rows.map(Self.decode)
    }


    private static func decode(_ row: PostgresRow) throws -> App {
        do {
            let (id, secret, webhook, epoch, createdAt, policy) = try row.decode(
                (String, String, String?, String, Double, String).self
            )
            return App(
                id: id,
                secret: secret,
                webhook: webhook,
                epoch: epoch,
                createdAt: Date(timeIntervalSince1970: createdAt),
                policy: try AppPolicy(storedJSON: policy)
            )
        } catch {
            throw MessageStoreError.unavailable("the apps table holds a malformed row: \(error)")
        }
    }
}
