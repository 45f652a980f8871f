import HeraldTestUtils
import Testing

/// Runs a whole suite against one `herald serve`: its tests use ``Harness/make()``, each on
/// an app of its own, so they stay independent while the suite starts one process instead
/// of one per test case. The server is stopped when the suite ends, also on failure.
struct SharedServerTrait: SuiteTrait, TestScoping {
    var isRecursive: Bool { false }

    func provideScope(
        for test: Test,
        testCase: Test.Case?,
        performing function: @Sendable () async throws -> Void
    ) async throws {
        let server = try await HeraldProcess.start()
        try await Harness.$sharedServer.withValue(server) {
            try await function()
        }
        _ = try? await server.terminate()
    }
}

extension Trait where Self == SharedServerTrait {
    /// One server for the whole suite.
    static var sharedServer: Self { SharedServerTrait() }
}
