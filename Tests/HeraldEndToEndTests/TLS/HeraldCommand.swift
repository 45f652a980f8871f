import Foundation
import HeraldChildProcess
import HeraldTestUtils

/// One run of the `herald` command line (not `serve`), with what it printed.
struct HeraldCommand: Sendable {
    var status: Int32
    var output: String
    var error: String

    /// Runs `herald <arguments>` to its end, with `environment` added to this process's.
    static func run(_ arguments: [String], environment: [String: String] = [:]) async throws -> HeraldCommand {
        let binary = try HeraldProcess.locateBinary()
        return try await BlockingWork.run { try Self.runBlocking(binary, arguments, environment: environment) }
    }

    private static func runBlocking(_ binary: URL, _ arguments: [String], environment: [String: String]) throws -> HeraldCommand {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("herald-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        // Files rather than pipes: nothing to drain while the command runs.
        let outputFile = directory.appendingPathComponent("stdout")
        let errorFile = directory.appendingPathComponent("stderr")
        let status = try ChildSpawn.run(
            [binary.path] + arguments, environment: environment, output: outputFile.path, errorOutput: errorFile.path)
        return HeraldCommand(
            status: status,
            output: String(decoding: try Data(contentsOf: outputFile), as: UTF8.self),
            error: String(decoding: try Data(contentsOf: errorFile), as: UTF8.self)
        )
    }
}
