import Foundation
import HeraldTestUtils
import Testing

/// The node's secrets: a data directory and files only the owner can read from their creation
/// on, an admin key that is never printed, long enough, and can come from a file, and a
/// PostgreSQL password that can come from a file.
@Suite("Secrets", .timeLimit(.minutes(1)))
struct SecretsTests {
    static func mode(of path: String) throws -> Int {
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        return try #require(attributes[.posixPermissions] as? Int) & 0o777
    }

    /// Starts a server whose data directory is `fresh`, inside the harness's, without a key.
    static func startFresh() async throws -> (server: HeraldProcess, directory: String) {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("herald-fresh-\(UUID().uuidString.lowercased())/data").path
        let server = try await HeraldProcess.start(["--data-dir", directory], environment: ["HERALD_ADMIN_KEY": ""])
        return (server, directory)
    }

    static func expectRefusedStart(
        _ arguments: [String] = [],
        environment: [String: String] = [:],
        mentioning words: [String],
        sourceLocation: SourceLocation = #_sourceLocation
    ) async throws {
        do {
            let server = try await HeraldProcess.start(arguments, environment: environment, readyTimeout: .seconds(20))
            _ = try await server.terminate()
            Issue.record("herald started", sourceLocation: sourceLocation)
        } catch let error as HeraldProcessError {
            for word in words {
                #expect(
                    error.standardError.contains(word), "stderr does not mention \(word): \(error.standardError)",
                    sourceLocation: sourceLocation)
            }
        }
    }

    @Test("a new data directory is 0700, the database and admin.key 0600, and the key is not printed")
    func freshDirectoryIsPrivate() async throws {
        let (server, directory) = try await Self.startFresh()
        defer { try? FileManager.default.removeItem(atPath: (directory as NSString).deletingLastPathComponent) }
        #expect(try Self.mode(of: directory) == 0o700)
        #expect(try Self.mode(of: directory + "/herald.sqlite") == 0o600)
        #expect(try Self.mode(of: directory + "/admin.key") == 0o600)
        let key = try String(contentsOfFile: directory + "/admin.key", encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(key.count == 64)
        #expect(server.standardOutput.contains("generated an admin key, kept in \(directory)/admin.key"))
        #expect(!server.standardOutput.contains(key))
        #expect(!server.standardError.contains(key))
        _ = try await server.terminate()
    }

    @Test("a data directory, database or admin key readable by others is refused", arguments: ["", "herald.sqlite", "admin.key"])
    func readableByOthersIsRefused(file: String) async throws {
        let (server, directory) = try await Self.startFresh()
        defer { try? FileManager.default.removeItem(atPath: (directory as NSString).deletingLastPathComponent) }
        _ = try await server.terminate()
        let path = file.isEmpty ? directory : directory + "/" + file
        try FileManager.default.setAttributes([.posixPermissions: file.isEmpty ? 0o755 : 0o644], ofItemAtPath: path)
        do {
            try await server.restart(readyTimeout: .seconds(20))
            Issue.record("herald started with \(path) readable by others")
        } catch let error as HeraldProcessError {
            #expect(error.standardError.contains("\(path) is open to other users"), "\(error.standardError)")
            #expect(error.standardError.contains(file.isEmpty ? "chmod 700" : "chmod 600"), "\(error.standardError)")
        }
    }

    @Test("an admin key shorter than 32 characters is refused")
    func shortAdminKeyIsRefused() async throws {
        try await Self.expectRefusedStart(
            environment: ["HERALD_ADMIN_KEY": "short-key"], mentioning: ["HERALD_ADMIN_KEY", "at least 32"])
    }

    @Test("the admin key can come from --admin-key-file")
    func adminKeyFromFile() async throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("herald-key-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: file) }
        let key = "from-a-file-" + UUID().uuidString.lowercased()
        try Data((key + "\n").utf8).write(to: URL(fileURLWithPath: file))
        let server = try await HeraldProcess.start(["--admin-key-file", file], environment: ["HERALD_ADMIN_KEY": ""])
        let socket = try RawSocket(port: server.apiPort)
        try socket.send("GET /v1/apps HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer \(key)\r\n\r\n")
        #expect(try await socket.readResponse().hasPrefix("HTTP/1.1 200"))
        _ = try await server.terminate()

        try Data("too-short\n".utf8).write(to: URL(fileURLWithPath: file))
        try await Self.expectRefusedStart(
            ["--admin-key-file", file], environment: ["HERALD_ADMIN_KEY": ""], mentioning: [file, "at least 32"])
    }

    @Test("a PostgreSQL password file is read, and refused when it cannot be")
    func postgresPasswordFile() async throws {
        let missing = "/nonexistent/herald-password-\(UUID().uuidString)"
        try await Self.expectRefusedStart(
            ["--store", "postgres://herald@127.0.0.1:1/herald", "--postgres-password-file", missing],
            mentioning: ["cannot read the PostgreSQL password file \(missing)"]
        )
        try await Self.expectRefusedStart(
            ["--store", "postgres://herald@127.0.0.1:1/herald?password_file=\(missing)"],
            mentioning: ["cannot read the PostgreSQL password file \(missing)"]
        )
        try await Self.expectRefusedStart(
            ["--store", "postgres://herald:secret@127.0.0.1:1/herald", "--postgres-password-file", missing],
            mentioning: ["a password and a password file"]
        )
    }

    @Test("the PostgreSQL password comes from a file, by flag or in the URL", arguments: [false, true])
    func postgresPasswordFromFile(inURL: Bool) async throws {
        guard let url = ProcessInfo.processInfo.environment["HERALD_TEST_POSTGRES_URL"], !url.isEmpty else {
            throw HeraldProcessError("HERALD_TEST_POSTGRES_URL is not set: run the tests with scripts/test")
        }
        var components = try #require(URLComponents(string: url))
        let password = try #require(components.password)
        components.password = nil
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("herald-pg-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: file) }
        try Data((password + "\n").utf8).write(to: URL(fileURLWithPath: file))
        var items = [URLQueryItem(name: "schema", value: "secrets_\(UUID().uuidString.prefix(8).lowercased())")]
        if inURL { items.append(URLQueryItem(name: "password_file", value: file)) }
        components.queryItems = items
        let store = try #require(components.string)
        #expect(!store.contains(password))
        let arguments = ["--store", store] + (inURL ? [] : ["--postgres-password-file", file])
        let server = try await HeraldProcess.start(arguments)
        _ = try await APIClient(server).createApp(prefix: "pg")
        _ = try await server.terminate()
    }
}
