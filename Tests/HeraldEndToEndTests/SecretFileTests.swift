import Foundation
import HeraldCore
import HeraldTestUtils
import Testing

/// `--secret-file` (and `HERALD_SECRET_FILE`) keep the app secret out of the command line:
/// `herald token` signs with the file's secret, and a missing or empty file is a sentence.
@Suite("Secret files", .timeLimit(.minutes(1)))
struct SecretFileTests {
    @Test("herald token reads the app secret from --secret-file or HERALD_SECRET_FILE")
    func tokenSignsWithTheSecretFromAFile() async throws {
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
            let run = try await HeraldCommand.run(arguments, environment: environment)
            #expect(run.status == 0, "\(run.error)")
            let token = run.output.trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(try verifier.verify(token, now: now).user == "alice")
        }
        let missing = try await HeraldCommand.run(["token", "--app", "demo", "--secret-file", file + "-missing", "--user", "a"])
        #expect(missing.status != 0)
        #expect(missing.error.contains("the file \(file)-missing for the app secret does not exist"), "\(missing.error)")
        let both = try await HeraldCommand.run(["token", "--app", "demo", "--secret", "x", "--secret-file", file, "--user", "a"])
        #expect(both.status != 0)
        #expect(both.error.contains("not both"), "\(both.error)")
    }
}
