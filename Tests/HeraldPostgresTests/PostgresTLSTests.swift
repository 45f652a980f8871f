import HeraldCore
import HeraldPostgres
import PostgresNIO
import Testing

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The test PostgreSQL serves TLS with a certificate for 127.0.0.1 signed by the CA in
/// `HERALD_TEST_POSTGRES_CA` (scripts/lib/postgres.sh); plain connections work beside it.
@Suite("PostgreSQL over TLS")
struct PostgresTLSTests {
    /// A CA that signed nothing the test server has.
    static let unrelatedCA = """
        -----BEGIN CERTIFICATE-----
        MIIBjjCCATWgAwIBAgIUAXPlWBv3EpBw8vLOi7oVSlut+1AwCgYIKoZIzj0EAwIw
        HDEaMBgGA1UEAwwRVW5yZWxhdGVkIHRlc3QgQ0EwIBcNMjYxMjA2MjIyNTI2WhgP
        MjEyNjExMTIyMjI1MjZaMBwxGjAYBgNVBAMMEVVucmVsYXRlZCB0ZXN0IENBMFkw
        EwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEcfzDijaaEWseQBPA66HJ2VLZ5RwemKZc
        SZqF6HjInoC8BGmDZ9y0vPDrjzL29xbE2X+w3ROx+7VA00stEBB5qqNTMFEwHQYD
        VR0OBBYEFN/nyJ4S2363cGuxvqsg6IQ6SDLRMB8GA1UdIwQYMBaAFN/nyJ4S2363
        cGuxvqsg6IQ6SDLRMA8GA1UdEwEB/wQFMAMBAf8wCgYIKoZIzj0EAwIDRwAwRAIg
        JJE49t9j+8IamMXuqLFad5Hu48oV7Ib0ZbUS1FSr11ICIFcXmugIiwKpy/OyTTzB
        Bn7SFy3xC0Dn64YiKRiU+Ti0
        -----END CERTIFICATE-----

        """

    /// The test database's URL with `query` added.
    static func url(_ query: String) throws -> String {
        let url = try PostgresTestEnvironment.url()
        return url + (url.contains("?") ? "&" : "?") + query
    }

    /// Whether the connection that runs the query is encrypted, as the server sees it.
    static func isEncrypted(_ configuration: PostgresStore.Configuration) async throws -> Bool {
        try await PostgresTestEnvironment.withClient(configuration.client) { client in
            let rows = try await client.query("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
            var encrypted = false
            for try await ssl in rows.decode(Bool.self) {
                encrypted = ssl
            }
            return encrypted
        }
    }

    @Test("sslmode=verify-full with sslrootcert connects over TLS, and the store works on it")
    func verifyFull() async throws {
        let ca = try PostgresTestEnvironment.variable("HERALD_TEST_POSTGRES_CA")
        var configuration = try PostgresStore.Configuration(url: try Self.url("sslmode=verify-full&sslrootcert=\(ca)"))
        #expect(try await Self.isEncrypted(configuration))
        configuration.schema = "herald_test_tls_" + UUID().uuidString.lowercased().filter { $0 != "-" }
        configuration.leaseTimeout = .seconds(15)
        try await PostgresTestEnvironment.withStore(configuration) { store in
            let app = PostgresTestEnvironment.appID("tls")
            let found = try await store.catalog.app(id: app)
            #expect(found == nil)
        }
        try await PostgresTestEnvironment.withClient(try PostgresStore.Configuration(url: try PostgresTestEnvironment.url()).client) {
            try await $0.query(PostgresQuery(unsafeSQL: "DROP SCHEMA IF EXISTS \(configuration.schema ?? "") CASCADE"))
        }
    }

    @Test("sslmode=require encrypts; the URL without sslmode stays plain")
    func requireAndPlain() async throws {
        #expect(try await Self.isEncrypted(try PostgresStore.Configuration(url: try Self.url("sslmode=require"))))
        #expect(try await !Self.isEncrypted(try PostgresStore.Configuration(url: try PostgresTestEnvironment.url())))
    }

    @Test("verify-full with a CA that did not sign the server's certificate fails, and says why")
    func wrongCA() async throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("herald-unrelated-ca-\(UUID()).pem")
        try Self.unrelatedCA.write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        var configuration = try PostgresStore.Configuration(url: try Self.url("sslmode=verify-full&sslrootcert=\(file.path)"))
        configuration.leaseTimeout = .seconds(3)
        let failure = try await PostgresTestEnvironment.withStore(configuration, migrate: false) { store in
            await #expect(throws: MessageStoreError.self) { try await store.migrate() }
            return await store.connectionFailure()
        }
        let host = try #require(configuration.client.host)
        #expect(
            failure?.hasPrefix("cannot connect to PostgreSQL at \(host):") == true
                && failure?.hasSuffix("the TLS certificate of \(host) was not accepted: it is expired or not yet valid, "
                    + "or not signed by a trusted certificate authority") == true,
            "\(failure ?? "connected")"
        )
        // The right CA passes the same check.
        let ca = try PostgresTestEnvironment.variable("HERALD_TEST_POSTGRES_CA")
        let trusted = try PostgresStore.Configuration(url: try Self.url("sslmode=verify-full&sslrootcert=\(ca)"))
        let none = try await PostgresTestEnvironment.withStore(trusted, migrate: false) { await $0.connectionFailure() }
        #expect(none == nil)
    }
}
