import Foundation
import HeraldTestUtils
import Testing

/// `herald-bench`'s command line: the help text and options refused before anything connects.
@Suite("herald-bench options")
struct BenchOptionsTests {
    static func run(_ arguments: [String]) async throws -> BenchCommand.Result {
        try await BenchCommand(arguments).wait(timeout: .seconds(60))
    }

    @Test func theHelpNamesThePresetsPipelineAndMixed() async throws {
        let bench = try await Self.run(["--help"])
        #expect(bench.status == 0)
        #expect(bench.standardOutput.contains("mixed"), "\(bench.standardOutput)")
        #expect(bench.standardOutput.contains("ordinary-publisher"))
        #expect(bench.standardOutput.contains("--preset ordinary-publisher"))
        let run = try await Self.run(["run", "--help"])
        #expect(run.status == 0)
        for option in ["--preset", "--pipeline", "--http-connections", "--client-scheduling"] {
            #expect(run.standardOutput.contains(option), "\(option) is not in\n\(run.standardOutput)")
        }
        #expect(run.standardOutput.contains("ordinary-publisher"))
    }

    @Test func heraldBenchRunsTheProgramBesideIt() async throws {
        // `herald bench` is a pointer: the server binary runs the herald-bench next to it.
        let forwarded = try await BenchCommand(["bench", "--help"], executable: HeraldProcess.locateBinary())
            .wait(timeout: .seconds(60))
        #expect(forwarded.status == 0)
        #expect(forwarded.standardOutput.contains("herald-bench"), "\(forwarded.standardOutput)")
        #expect(forwarded.standardOutput.contains("ordinary-publisher"))
        let refused = try await BenchCommand(
            ["bench", "broadcast", "--pipeline", "0", "--api", "http://127.0.0.1:1", "--app", "a", "--secret", "s"],
            executable: HeraldProcess.locateBinary()
        ).wait(timeout: .seconds(60))
        #expect(refused.status != 0)
        #expect(refused.standardError.contains("--pipeline must be 1 to 1024"), "\(refused.standardError)")
    }

    @Test func aBadPipelineOrPresetIsRefused() async throws {
        // Nothing listens on port 1: these must fail on the options, before any connection.
        let target = ["--api", "http://127.0.0.1:1", "--app", "demo", "--secret", "s"]
        let zero = try await Self.run(["broadcast", "--pipeline", "0"] + target)
        #expect(zero.status != 0)
        #expect(zero.standardError.contains("--pipeline must be 1 to 1024"), "\(zero.standardError)")
        let tooMany = try await Self.run(
            ["mixed", "--preset", "ordinary-publisher", "--pipeline", "2000"] + target)
        #expect(tooMany.status != 0)
        #expect(tooMany.standardError.contains("--pipeline must be 1 to 1024"), "\(tooMany.standardError)")
        let preset = try await Self.run(["unicast", "--preset", "best"] + target)
        #expect(preset.status != 0)
        #expect(preset.standardError.contains("--preset"), "\(preset.standardError)")
    }
}
