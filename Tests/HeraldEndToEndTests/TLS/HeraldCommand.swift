import Foundation
import HeraldTestUtils

/// One run of the `herald` command line (not `serve`), with what it printed.
struct HeraldCommand: Sendable {
    var status: Int32
    var output: String
    var error: String

    /// Runs `herald <arguments>` to its end.
    static func run(_ arguments: [String]) async throws -> HeraldCommand {
        let binary = try HeraldProcess.locateBinary()
        // Waiting for the process blocks: a thread of its own keeps that off the cooperative
        // pool, which every test in the process shares.
        return try await withCheckedThrowingContinuation { continuation in
            Thread {
                continuation.resume(with: Result { try Self.runBlocking(binary, arguments) })
            }.start()
        }
    }

    private static func runBlocking(_ binary: URL, _ arguments: [String]) throws -> HeraldCommand {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("herald-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        // Files rather than pipes: nothing to drain while the command runs.
        let outputFile = directory.appendingPathComponent("stdout")
        let errorFile = directory.appendingPathComponent("stderr")
        for file in [outputFile, errorFile] where !FileManager.default.createFile(atPath: file.path, contents: nil) {
            throw HeraldProcessError("cannot create \(file.path) for the command's output")
        }
        let output = try FileHandle(forWritingTo: outputFile)
        let error = try FileHandle(forWritingTo: errorFile)
        defer {
            try? output.close()
            try? error.close()
        }
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        process.standardOutput = output
        process.standardError = error
        process.standardInput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        return HeraldCommand(
            status: process.terminationStatus,
            output: String(decoding: try Data(contentsOf: outputFile), as: UTF8.self),
            error: String(decoding: try Data(contentsOf: errorFile), as: UTF8.self)
        )
    }
}
