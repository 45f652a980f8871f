import HeraldPostgres
import Logging
import PostgresNIO

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The PostgreSQL that `scripts/test` starts, and helpers to use it.
///
/// Tests that need it fail with a clear message when `HERALD_TEST_POSTGRES_URL` is missing:
/// they never skip.
enum PostgresTestEnvironment {
    struct Missing: Error, CustomStringConvertible {
        var variable: String
        var description: String {
            "\(variable) is not set: run the tests through scripts/test, which starts PostgreSQL (see scripts/lib/postgres.sh)"
        }
    }

    static func variable(_ name: String) throws -> String {
        guard let value = ProcessInfo.processInfo.environment[name], !value.isEmpty else {
            throw Missing(variable: name)
        }
        return value
    }

    /// The shared test database's URL.
    static func url() throws -> String {
        try self.variable("HERALD_TEST_POSTGRES_URL")
    }

    static let logger = Logger(label: "herald.postgres.tests")

    /// Runs `body` with the configuration of a fresh schema in the test database (dropped
    /// afterwards), so that what the test does, `purge` included, touches nothing
    /// of any other test's, while stores made from it share the schema as processes would.
    static func withScratchSchema<T>(_ body: (PostgresStore.Configuration) async throws -> T) async throws -> T {
        let url = try self.url()
        let schema = "herald_test_" + UUID().uuidString.lowercased().filter { $0 != "-" }
        var configuration = try PostgresStore.Configuration(url: url)
        configuration.schema = schema  // created by migrate()
        // The suites run many stores at once: on a loaded machine a new connection can take
        // longer than the production default of 3 s. Tests of the timeout set their own.
        configuration.leaseTimeout = .seconds(15)
        do {
            let result = try await body(configuration)
            try await self.dropSchema(schema)
            return result
        } catch {
            try? await self.dropSchema(schema)
            throw error
        }
    }

    private static func dropSchema(_ schema: String) async throws {
        let configuration = try PostgresStore.Configuration(url: try self.url())
        try await self.withClient(configuration.client) { client in
            try await client.query(PostgresQuery(unsafeSQL: "DROP SCHEMA IF EXISTS \(schema) CASCADE"))
        }
    }

    /// Runs `body` with a plain postgres-nio client on the store's database and schema.
    @discardableResult
    static func withClient<T>(
        _ configuration: PostgresStore.Configuration,
        _ body: (PostgresClient) async throws -> T
    ) async throws -> T {
        var client = configuration.client
        if let schema = configuration.schema {
            client.options.additionalStartupParameters.append(("search_path", schema))
        }
        return try await self.withClient(client, body)
    }

    /// Runs `body` with a plain postgres-nio client, for what the store does not expose.
    @discardableResult
    static func withClient<T>(
        _ configuration: PostgresClient.Configuration,
        _ body: (PostgresClient) async throws -> T
    ) async throws -> T {
        let client = PostgresClient(configuration: configuration)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await client.run() }
            defer { group.cancelAll() }
            return try await body(client)
        }
    }

    /// Runs `body` with a running store (its pool runs in a child task, cancelled at the
    /// end), migrated first unless `migrate` is false.
    static func withStore<T>(
        _ configuration: PostgresStore.Configuration,
        migrate: Bool = true,
        _ body: (PostgresStore) async throws -> T
    ) async throws -> T {
        let store = PostgresStore(configuration: configuration, logger: self.logger)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await store.run() }
            defer { group.cancelAll() }
            if migrate { try await store.migrate() }
            return try await body(store)
        }
    }

    /// A fresh app id, so that tests sharing the database never meet.
    static func appID(_ prefix: String = "pg") -> String {
        "\(prefix)-\(UUID().uuidString.lowercased().prefix(13))"
    }
}
