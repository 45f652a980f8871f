import Foundation
import HeraldTestUtils
import Testing

/// A store that cannot be used at start stops the server with a clear error and a non-zero
/// exit, never a silently empty store.
@Suite("Store at startup", .timeLimit(.minutes(1)))
struct StoreStartupTests {
    static func replaceDatabase(of server: HeraldProcess, with make: (URL) throws -> Void) throws {
        let database = server.dataDirectory.appendingPathComponent("herald.sqlite")
        for suffix in ["", "-wal", "-shm"] {
            try? FileManager.default.removeItem(atPath: database.path + suffix)
        }
        try make(database)
        // Private, as herald serve requires, so that the store's own check is what refuses it.
        try FileManager.default.setAttributes([.posixPermissions: 0o700], ofItemAtPath: database.path)
    }

    static func expectRefusedStart(_ server: HeraldProcess, mentioning words: [String]) async throws {
        do {
            try await server.restart(readyTimeout: .seconds(20))
            Issue.record("herald started on an unusable store")
        } catch let error as HeraldProcessError {
            #expect(error.message.contains("herald exited (exit status "), "\(error.message)")
            #expect(!error.message.contains("exit status 0)"), "\(error.message)")
            let said = error.standardError.lowercased()
            for word in words {
                #expect(said.contains(word), "stderr does not mention \(word): \(error.standardError)")
            }
        }
    }

    @Test("a corrupt database file is refused")
    func corruptFile() async throws {
        let server = try await HeraldProcess.start()
        _ = try await APIClient(server).createApp(prefix: "kept")
        try await server.terminate()
        try Self.replaceDatabase(of: server) { url in
            try Data(repeating: 0x5A, count: 64 * 1024).write(to: url)
        }
        try await Self.expectRefusedStart(server, mentioning: ["herald.sqlite", "not a usable sqlite database"])
    }

    @Test("a database path that cannot be opened as a file is refused")
    func unopenableFile() async throws {
        let server = try await HeraldProcess.start()
        try await server.terminate()
        try Self.replaceDatabase(of: server) { url in
            try FileManager.default.createDirectory(at: url, withIntermediateDirectories: false)
        }
        try await Self.expectRefusedStart(server, mentioning: ["herald.sqlite"])
    }
}
