import PostgresNIO

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

extension PostgresStore {
    /// Where the database is and how long calls may take.
    public struct Configuration: Sendable {
        /// The connection pool's settings (server, credentials, TLS, pool size).
        public var client: PostgresClient.Configuration
        /// How long a call waits for a connection before failing with
        /// ``HeraldCore/MessageStoreError/unavailable(_:)``; also the connect timeout.
        public var leaseTimeout: Duration = .seconds(3)
        /// How long one call may take in all before it fails likewise.
        public var callTimeout: Duration = .seconds(10)
        /// How long ``PostgresStore/migrate()`` may take, waiting for other processes included.
        public var migrationTimeout: Duration = .seconds(120)
        /// The most QoS 1 appends that one group commit takes.
        public var maxBatch: Int = 256
        /// The schema that holds Herald's tables, created by ``PostgresStore/migrate()`` when
        /// missing; nil uses the server's `search_path` (normally `public`). Lets Herald share a
        /// database with others, or several Herald clusters (and tests) share one.
        public var schema: String?

        /// Settings for `client`, with the default timeouts.
        public init(client: PostgresClient.Configuration) {
            self.client = client
        }

        /// Parses `postgres://user:password@host:port/database` (or `postgresql://`).
        ///
        /// The port defaults to 5432 and the database to the user's name. Query parameters:
        /// `schema` (see ``schema``), `application_name` (default `herald`) and `sslmode`, of
        /// which only `disable` is supported (connections are not encrypted: keep PostgreSQL
        /// on a trusted network).
        ///
        /// - Throws: ``PostgresStoreError/invalidURL(_:)``.
        public init(url: String) throws {
            guard let components = URLComponents(string: url) else {
                throw PostgresStoreError.invalidURL("not a URL")
            }
            guard let scheme = components.scheme?.lowercased(), scheme == "postgres" || scheme == "postgresql" else {
                throw PostgresStoreError.invalidURL("the scheme must be postgres:// or postgresql://")
            }
            guard let host = components.host, !host.isEmpty else {
                throw PostgresStoreError.invalidURL("no host")
            }
            guard let username = components.user, !username.isEmpty else {
                throw PostgresStoreError.invalidURL("no user name (postgres://USER:PASSWORD@HOST:PORT/DATABASE)")
            }
            if let port = components.port, !(1...65535).contains(port) {
                throw PostgresStoreError.invalidURL("the port must be between 1 and 65535")
            }
            var database = components.path
            if database.hasPrefix("/") { database.removeFirst() }
            if database.contains("/") {
                throw PostgresStoreError.invalidURL("the path must be a database name")
            }

            var applicationName = "herald"
            var schema: String?
            for item in components.queryItems ?? [] {
                switch item.name {
                case "schema":
                    guard let value = item.value, (1...63).contains(value.utf8.count), !value.utf8.contains(0) else {
                        throw PostgresStoreError.invalidURL("schema must be a name of 1 to 63 bytes")
                    }
                    schema = value
                case "sslmode":
                    guard item.value == "disable" else {
                        throw PostgresStoreError.invalidURL(
                            "sslmode=\(item.value ?? "") is not supported; this build connects without TLS (sslmode=disable)"
                        )
                    }
                case "application_name":
                    applicationName = item.value ?? applicationName
                default:
                    throw PostgresStoreError.invalidURL("unknown parameter \(item.name)")
                }
            }
            var client = PostgresClient.Configuration(
                host: host,
                port: components.port ?? 5432,
                username: username,
                password: components.password,
                database: database.isEmpty ? nil : database,
                tls: .disable
            )
            client.options.additionalStartupParameters = [("application_name", applicationName)]
            self.init(client: client)
            self.schema = schema
        }

        /// ``schema`` as an SQL identifier: double-quoted, so any name works as it is written.
        var quotedSchema: String? {
            guard let schema = self.schema else { return nil }
            var quoted = "\""
            for character in schema {
                if character == "\"" { quoted.append("\"") }
                quoted.append(character)
            }
            quoted.append("\"")
            return quoted
        }
    }
}
