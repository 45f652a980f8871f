import ArgumentParser
import HeraldBench

/// `herald bench`: the distributed stress tool. `herald bench <scenario>` runs a scenario;
/// `herald bench agent` is a worker that a controller drives.
struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Drive a Herald node with many clients and measure it.",
        discussion: """
            Scenarios: \(BenchScenario.allCases.map { "\n  \($0.rawValue.padding(9))  \($0.summary)" }.joined())

            Example:
              herald bench broadcast --admin-key KEY --connections 19000 \\
                --source-addresses 127.0.0.2-127.0.0.9 --server-pid PID
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
