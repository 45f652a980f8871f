import Foundation
import HeraldCore
import HeraldTestUtils
import Testing

/// `--secret-file` (and `HERALD_SECRET_FILE`) keep the app secret out of the command line:
/// `herald token` signs with the file's secret, and a missing or empty file is a sentence.
@Suite("Secret files", .timeLimit(.minutes(1)))
struct SecretFileTests {
    static func herald(_ arguments: [String], environment: [String: String] = [:]) throws -> (status: Int32, output: String, error: String) {
        let process = Process()
        process.executableURL = try HeraldProcess.locateBinary()
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let output = Pipe()
        let error = Pipe()
        process.standardOutput = output
        process.standardError = error
        try process.run()
        process.waitUntilExit()
        return (
            process.terminationStatus,
            String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self),
            String(decoding: error.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        )
    }

    @Test("herald token reads the app secret from --secret-file or HERALD_SECRET_FILE")
    func tokenSignsWithTheSecretFromAFile() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("herald-secret-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("secret").path
        try "file-secret-0123456789abcdef\n".write(toFile: file, atomically: true, encoding: .utf8)
        let verifier = TokenVerifier(apps: AppRegistry([
            App(id: "demo", secret: "file-secret-0123456789abcdef", epoch: "e", createdAt: Date())
        ]))
        let now = Int64(Date().timeIntervalSince1970)
        for (arguments, environment) in [
            (["token", "--app", "demo", "--secret-file", file, "--user", "alice"], [String: String]()),
            (["token", "--app", "demo", "--user", "alice"], ["HERALD_SECRET_FILE": file, "HERALD_SECRET": ""]),
        ] {
            let run = try Self.herald(arguments, environment: environment)
            #expect(run.status == 0, "\(run.error)")
            let token = run.output.trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(try verifier.verify(token, now: now).user == "alice")
        }
        let missing = try Self.herald(["token", "--app", "demo", "--secret-file", file + "-missing", "--user", "a"])
        #expect(missing.status != 0)
        #expect(missing.error.contains("the file \(file)-missing for the app secret does not exist"), "\(missing.error)")
        let both = try Self.herald(["token", "--app", "demo", "--secret", "x", "--secret-file", file, "--user", "a"])
        #expect(both.status != 0)
        #expect(both.error.contains("not both"), "\(both.error)")
    }
}
