import HeraldPostgres
import PostgresNIO
import Testing

@Suite("PostgreSQL URLs")
struct PostgresStoreConfigurationTests {
    @Test("postgres:// and postgresql:// URLs give host, port, credentials and database")
    func parsesURLs() throws {
        let full = try PostgresStore.Configuration(url: "postgres://herald:s%40cret@db.example:6543/herald_prod")
        #expect(full.client.host == "db.example")
        #expect(full.client.port == 6543)
        #expect(full.client.username == "herald")
        #expect(full.client.password == "s@cret")
        #expect(full.client.database == "herald_prod")

        let short = try PostgresStore.Configuration(
            url: "postgresql://u@127.0.0.1/d?sslmode=disable&application_name=x")
        #expect(short.client.port == 5432)
        #expect(short.client.password == nil)
        #expect(short.client.database == "d")

        let noDatabase = try PostgresStore.Configuration(url: "postgres://u:p@localhost:5432")
        #expect(noDatabase.client.database == nil)
        #expect(noDatabase.schema == nil)

        let schema = try PostgresStore.Configuration(url: "postgres://u@h/d?schema=herald_eu")
        #expect(schema.schema == "herald_eu")
    }

    @Test(
        "unusable URLs are refused with a reason",
        arguments: [
            "mysql://u:p@h/d",
            "postgres:///d",
            "postgres://h:5432/d",
            "postgres://u@h:5432/d?sslmode=sometimes",
            "postgres://u@h:5432/d?sslrootcert=/ca.pem",
            "postgres://u@h:5432/d?sslmode=verify-full&sslrootcert=/nonexistent/ca.pem",
            "postgres://u@h:5432/d?color=blue",
            "postgres://u@h:5432/a/b",
            "postgres://u@h:5432/d?schema=",
            "not a url at all",
        ]
    )
    func refusesBadURLs(url: String) {
        #expect(throws: PostgresStoreError.self) {
            _ = try PostgresStore.Configuration(url: url)
        }
    }

    @Test("the error for a bad URL does not repeat its password")
    func errorHidesPassword() {
        do {
            _ = try PostgresStore.Configuration(url: "postgres://u:hunter2@h/d?sslmode=sometimes")
            Issue.record("the URL was accepted")
        } catch {
            #expect(!"\(error)".contains("hunter2"))
        }
    }
}
