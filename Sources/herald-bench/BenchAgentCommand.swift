import ArgumentParser
import Foundation
import HeraldBench
import HeraldCore
import NIOCore
import NIOPosix

/// `herald-bench agent`: a worker for a bench controller, on stdin/stdout (started by a
/// local controller) or on a TCP port (for `herald-bench <scenario> --agents`).
struct BenchAgentCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agent",
        abstract: "Run bench clients for a controller: --stdio (spawned by it) or --listen host:port."
    )

    @Flag(help: "Serve the controller that started this process on stdin and stdout.")
    var stdio = false

    @Option(
        help: "Serve controllers that connect to host:port (port 0 picks a free one; the bound address is printed).")
    var listen: String?

    @Option(help: "Threads the bench clients run on (default: one per core of this machine).")
    var threads: Int?

    @Option(
        name: .customLong("client-scheduling"),
        help: "The client threads' scheduling: batch (SCHED_BATCH, the default) or normal.")
    var clientScheduling: ClientScheduling = .batch

    @Option(name: .customLong("log-level"), help: "Log level (logs go to stderr).")
    var logLevel: String = "warning"

    func validate() throws {
        if self.stdio == (self.listen != nil) {
            throw ValidationError("give exactly one of --stdio and --listen host:port")
        }
        if let threads = self.threads, threads < 1 || threads > 256 {
            throw ValidationError("--threads must be 1 to 256")
        }
    }

    func run() async throws {
        // stdout may be the protocol: every log goes to stderr.
        let logger = BenchLogging.bootstrap(label: "herald.bench.agent", level: self.logLevel)
        // NIO's loops carry only the controller's link; the clients run on the pool's own
        // loops, which ready their arenas themselves.
        let group = MultiThreadedEventLoopGroup.singleton
        let clientThreads = self.threads ?? System.coreCount
        if self.stdio {
            try await BenchAgentServer.runStandardIO(
                group: group, clientThreads: clientThreads, clientScheduling: self.clientScheduling, logger: logger)
            return
        }
        let address = self.listen ?? ""
        guard let colon = address.lastIndex(of: ":"), let port = Int(address[address.index(after: colon)...]),
            (0...65_535).contains(port)
        else { throw ValidationError("--listen must be host:port, not \(address)") }
        var host = String(address[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        let given = host
        try await BenchAgentServer.listen(
            host: given, port: port, group: group, clientThreads: clientThreads,
            clientScheduling: self.clientScheduling, logger: logger
        ) { bound in
            // Tests and scripts read the port from this line.
            print("herald-bench agent listening on \(bound.ipAddress ?? given):\(bound.port ?? port)")
            fflush(nil)
        }
    }
}
