import Foundation
import HeraldTestUtils

/// One run of the `herald` command line (not `serve`), with what it printed.
struct HeraldCommand {
    var status: Int32
    var output: String
    var error: String

    /// Runs `herald <arguments>` to its end.
    static func run(_ arguments: [String]) async throws -> HeraldCommand {
        let process = Process()
        process.executableURL = try HeraldProcess.locateBinary()
        process.arguments = arguments
        let output = Pipe()
        let error = Pipe()
        process.standardOutput = output
        process.standardError = error
        process.standardInput = FileHandle.nullDevice
        try process.run()
        // Read both pipes to their end before waiting, so that a full pipe cannot stall the command.
        async let out = output.fileHandleForReading.readToEnd()
        async let err = error.fileHandleForReading.readToEnd()
        let (outData, errData) = try await (out, err)
        process.waitUntilExit()
        return HeraldCommand(
            status: process.terminationStatus,
            output: String(decoding: outData ?? Data(), as: UTF8.self),
            error: String(decoding: errData ?? Data(), as: UTF8.self)
        )
    }
}
