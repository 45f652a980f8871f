import Foundation
import HeraldTestUtils
import Testing

/// A server that does not stop when told is killed, and the failure says what its threads
/// were doing, so a hang in a CI log can be read without reproducing it.
@Suite("A server that will not stop", .timeLimit(.minutes(1)))
struct StuckServerTests {
    @Test("a stopped (SIGSTOP) server is killed after the timeout and its threads are described")
    func stuckServerIsDescribed() async throws {
        let server = try await HeraldProcess.start()
        let pid = try #require(server.pid)
        kill(pid, SIGSTOP)
        do {
            try await server.terminate(timeout: .seconds(1))
            Issue.record("a stopped server exited on SIGTERM")
        } catch let error as HeraldProcessError {
            #expect(error.message.contains("herald did not exit within"))
            // Every thread of a stopped process is in state T.
            #expect(error.message.contains("state T"), "\(error.message)")
        }
        #expect(!server.isRunning)
    }
}
