import NIOSSL
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
        /// The URL's `sslmode` as a single connection takes it, for ``PostgresStore/connectionFailure()``;
        /// plain for a configuration made from `client` alone.
        var connectionTLS: PostgresConnection.Configuration.TLS = .disable

        /// Settings for `client`, with the default timeouts.
        public init(client: PostgresClient.Configuration) {
            self.client = client
        }

        /// Parses `postgres://user:password@host:port/database` (or `postgresql://`).
        ///
        /// The port defaults to 5432 and the database to the user's name. Query parameters:
        /// `schema` (see ``schema``), `application_name` (default `herald`), `sslmode` and
        /// `sslrootcert`. `sslmode` is as libpq's: `disable` (the default: plain), `prefer`
        /// (TLS when the server offers it, unverified), `require` (TLS, unverified),
        /// `verify-ca` (TLS, the certificate chains to a trusted CA) or `verify-full` (that, and
        /// it names the host). `sslrootcert=FILE` is the PEM CA the server's certificate must
        /// chain to; without it, the system's trust roots.
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
            var sslMode = "disable"
            var rootCertificate: String?
            for item in components.queryItems ?? [] {
                switch item.name {
                case "schema":
                    guard let value = item.value, (1...63).contains(value.utf8.count), !value.utf8.contains(0) else {
                        throw PostgresStoreError.invalidURL("schema must be a name of 1 to 63 bytes")
                    }
                    schema = value
                case "sslmode":
                    sslMode = item.value ?? ""
                case "sslrootcert":
                    guard let value = item.value, !value.isEmpty else {
                        throw PostgresStoreError.invalidURL("sslrootcert must name a PEM file")
                    }
                    rootCertificate = value
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
            if let (tls, preferred) = try Self.tls(mode: sslMode, rootCertificate: rootCertificate) {
                client.tls = preferred ? .prefer(tls) : .require(tls)
                do {
                    let context = try NIOSSLContext(configuration: tls)
                    self.connectionTLS = preferred ? .prefer(context) : .require(context)
                } catch {
                    throw PostgresStoreError.invalidURL("cannot set up TLS for sslmode=\(sslMode): \(error)")
                }
            }
            client.options.additionalStartupParameters = [("application_name", applicationName)]
            self.client = client
            self.schema = schema
        }

        /// The TLS of an `sslmode` and `sslrootcert`, and whether plain is allowed when the
        /// server offers no TLS; nil for `disable`.
        private static func tls(mode: String, rootCertificate: String?) throws -> (TLSConfiguration, preferred: Bool)? {
            var configuration = TLSConfiguration.makeClientConfiguration()
            configuration.minimumTLSVersion = .tlsv12
            switch mode {
            case "disable":
                guard rootCertificate == nil else {
                    throw PostgresStoreError.invalidURL("sslrootcert needs an sslmode other than disable")
                }
                return nil
            case "prefer", "require":
                // As libpq: encrypted, the server unchecked, unless a root certificate is given.
                configuration.certificateVerification = rootCertificate == nil ? .none : .noHostnameVerification
            case "verify-ca":
                configuration.certificateVerification = .noHostnameVerification
            case "verify-full":
                configuration.certificateVerification = .fullVerification
            default:
                throw PostgresStoreError.invalidURL(
                    "sslmode must be disable, prefer, require, verify-ca or verify-full, not \(mode)")
            }
            if let rootCertificate {
                do {
                    configuration.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(rootCertificate))
                } catch {
                    throw PostgresStoreError.invalidURL(
                        "cannot read the CA certificates in sslrootcert \(rootCertificate): it is missing, unreadable, or not PEM")
                }
            }
            return (configuration, preferred: mode == "prefer")
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
