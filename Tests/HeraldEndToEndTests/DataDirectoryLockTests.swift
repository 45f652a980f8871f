import Foundation
import HeraldTestUtils
import Testing

/// One `herald serve` per SQLite data directory: a second one stops at start with a sentence
/// (it would otherwise keep its own in-memory view of the same database), and the directory
/// is free again once the first has stopped, however it stopped.
@Suite("Data directory lock", .timeLimit(.minutes(1)))
struct DataDirectoryLockTests {
    @Test("a second herald serve on the same data directory is refused until the first stops")
    func secondServerOnTheSameDirectoryIsRefused() async throws {
        let (first, directory) = try await SecretsTests.startFresh()
        defer { try? FileManager.default.removeItem(atPath: (directory as NSString).deletingLastPathComponent) }
        try await SecretsTests.expectRefusedStart(
            ["--data-dir", directory],
            environment: ["HERALD_ADMIN_KEY": ""],
            mentioning: ["another herald serve is using the data directory \(directory)", "--data-dir"]
        )
        // The first still serves: the refused start changed nothing.
        #expect(try await APIClient(first).health() == 200)
        _ = try await first.kill()
        let second = try await HeraldProcess.start(["--data-dir", directory], environment: ["HERALD_ADMIN_KEY": ""])
        #expect(try await APIClient(second).health() == 200)
        _ = try await second.terminate()
    }
}
