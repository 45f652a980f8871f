import ArgumentParser
import HeraldBench

/// `herald-bench`: the distributed stress tool, a program of its own so that the server
/// binary carries none of it. `herald-bench <scenario>` runs a scenario; `herald-bench agent`
/// is a worker that a controller drives.
@main
struct HeraldBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "herald-bench",
        abstract: "Drive a Herald node, or a cluster of them, with many clients and measure it.",
        discussion: """
            Scenarios: \(BenchScenario.allCases.map { "\n  \($0.rawValue.padding(9))  \($0.summary)" }.joined())

            Presets (--preset): \(BenchPreset.allCases.map { "\n  \($0.rawValue.padding(18))  \($0.summary)" }.joined())
            A preset sets --client-scheduling, --http-connections and --pipeline; those
            options, given as well, win over it. The report's second line names the case
            of a pushing run: favourable, ordinary publisher, or custom (any other mix).

            Examples:
              herald-bench broadcast --admin-key KEY --connections 19000 \\
                --source-addresses 127.0.0.2-127.0.0.9 --server-pid PID
              herald-bench broadcast --preset ordinary-publisher --admin-key KEY \\
                --connections 19000 --source-addresses 127.0.0.2-127.0.0.9 --server-pid PID
              herald-bench mixed --rate 25000 --batch 100 --admin-key KEY \\
                --connections 19000 --source-addresses 127.0.0.2-127.0.0.9 --server-pid PID

            Against a cluster, each client on the node dispatch names for its user, the
            pushes to node a's API (scripts/bench-cluster runs this on three nodes):
              herald-bench unicast --via-dispatch --api http://127.0.0.1:8180 \\
                --admin-key KEY --redis-stats redis://:PASSWORD@127.0.0.1:6390 \\
                --connections 19000 --source-addresses 127.0.0.2-127.0.0.9
            """,
        subcommands: [BenchRun.self, BenchAgentCommand.self],
        defaultSubcommand: BenchRun.self
    )
}

extension String {
    fileprivate func padding(_ width: Int) -> String {
        self.count >= width ? self : self + String(repeating: " ", count: width - self.count)
    }
}
