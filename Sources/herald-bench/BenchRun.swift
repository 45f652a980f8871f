import ArgumentParser
import Foundation
import HeraldBench
import HeraldCommandLine
import Logging
import NIOPosix

/// `herald-bench <scenario>`: runs one scenario and prints the table (and writes the JSON report).
struct BenchRun: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run a scenario: herald-bench <scenario> [options] (\"run\" may be left out)."
    )

    @Argument(help: "The scenario: \(BenchScenario.allCases.map(\.rawValue).joined(separator: ", ")).")
    var scenario: BenchScenario

    @Option(
        help: """
            Base URL of the HTTP API, http:// [HERALD_API, default http://127.0.0.1:8080]. Name \
            several nodes of a cluster, comma-separated, to spread the pushes over their APIs \
            round-robin (each gets its share of --http-connections, at least one); this also \
            turns on --via-dispatch.
            """)
    var api: String?

    @Flag(
        name: .customLong("via-dispatch"),
        help: """
            Spread the clients over a cluster as devices spread: each connects to the node that \
            GET /v1/dispatch names first for its user (asked of the first --api, for every user \
            before the run). The report tells how many clients each node holds and what share of \
            the deliveries crossed nodes (that takes --admin-key, to ask each API for its node).
            """)
    var viaDispatch = false

    @Option(
        name: .customLong("redis-stats"),
        help: """
            The cluster's Redis, redis://[user:password@]host:port. The bench reads its INFO \
            commandstats around each part of the run and reports the commands that really ran: \
            per AUTH, per push request, per second and node while idle, and (at most) per heartbeat. \
            After the clients connect, the bench waits until Redis settles (a node registers a \
            session after its AUTH_OK), so that the pushes find every client in the directory.
            """)
    var redisStats: String?

    @Option(help: "Client TCP endpoint host:port of a single node (default: from /v1/dispatch).")
    var tcp: String?

    @Option(help: "Client WebSocket URL ws://host:port/ws of a single node (default: from /v1/dispatch).")
    var ws: String?

    @Option(help: "App id [HERALD_APP]; with --secret. Without both, a bench app is made with --admin-key.")
    var app: String?

    @Option(help: "App secret [HERALD_SECRET].")
    var secret: String?

    @Option(
        name: .customLong("admin-key"), help: "Admin key [HERALD_ADMIN_KEY]: makes the bench app, reads GET /v1/stats.")
    var adminKey: String?

    @Option(help: "Client connections in all.")
    var connections: Int = 1000

    @Option(help: "Local worker processes (default: one per 19000 connections; 0 with --agents).")
    var workers: Int?

    @Option(help: "Agents started with `herald-bench agent --listen`, host:port,host:port,...")
    var agents: String?

    @Option(
        help: """
            The case to run: favourable (the defaults) or ordinary-publisher (--client-scheduling \
            normal --http-connections 1 --pipeline 48: one keep-alive connection with 48 requests \
            pipelined, as a real backend publishes, to clients scheduled as ordinary threads). \
            Those options, given as well, win over the preset.
            """)
    var preset: BenchPreset = .favourable

    @Option(
        name: .customLong("client-scheduling"),
        help: """
            The local workers' client threads: batch (SCHED_BATCH: a client woken by a delivery \
            does not preempt the server, as a remote device would not) or normal (default: the \
            preset's, batch for favourable).
            """)
    var clientScheduling: ClientScheduling?

    @Option(name: .customLong("source-addresses"), help: "Local addresses the clients bind, e.g. 127.0.0.2-127.0.0.9.")
    var sourceAddresses: String?

    @Option(help: "tcp or ws.")
    var transport: TransportChoice = .tcp

    @Option(
        help:
            "connect/idle/storm: connections per second; unicast/qos1, and mixed's unicasts: pushes per second; broadcast/topic: messages per second in the sustained part. 0: as fast as possible."
    )
    var rate: Double = 0

    @Option(
        name: .customLong("connect-rate"), help: "Connections per second while the push scenarios set up (0: at once).")
    var connectRate: Double = 0

    @Option(help: "Seconds the measured part lasts (idle: seconds the connections are held).")
    var duration: Double = 10

    @Option(
        help:
            "Single broadcasts or publishes (broadcast, topic) sent one after the other before the sustained part; the time until the last client has one is reported as their median."
    )
    var singles: Int = 10

    @Option(
        help:
            "Messages per batch request (unicast, qos1, mixed's unicasts; mixed with 1: each push is a POST /v1/apps/{app}/messages of its own)."
    )
    var batch: Int = 100

    @Option(name: .customLong("payload-size"), help: "Bytes per payload (at least 12).")
    var payloadSize: Int = 32

    @Option(
        name: .customLong("http-connections"),
        help:
            "HTTP connections to push through (default 8 for unicast and qos1, 32 for broadcast, topic and mixed's broadcasts, whose unicasts have one more; 1 with --preset ordinary-publisher)."
    )
    var httpConnections: Int?

    @Option(
        help: """
            Requests each HTTP connection keeps in flight, pipelined, when pushing back to back \
            (--rate 0): --pipeline 48 --http-connections 1 is one keep-alive connection with 48 \
            requests out, as a real backend publishes (default 1; 48 with --preset ordinary-publisher).
            """)
    var pipeline: Int?

    @Option(help: "Seconds between client PINGs (0: the server's interval).")
    var heartbeat: Int = 30

    @Option(help: "The topic of the topic scenario.")
    var topic: String = "bench"

    @Option(name: .customLong("user-prefix"), help: "User ids are this prefix and a number.")
    var userPrefix: String = "u"

    @Option(
        name: .customLong("server-pid"),
        help: """
            The server's pid on this machine, for /proc memory and CPU sampling; the nodes of a \
            cluster on this machine comma-separated, whose memory and CPU are then summed.
            """)
    var serverPID: String?

    @Option(help: "Write the JSON report to this file.")
    var json: String?

    @Flag(help: "No progress line.")
    var quiet = false

    @Option(name: .customLong("log-level"), help: "Log level of the bench itself.")
    var logLevel: String = "warning"

    enum TransportChoice: String, ExpressibleByArgument, CaseIterable {
        case tcp
        case ws

        var transport: BenchTransport { self == .tcp ? .tcp : .webSocket }
    }

    func run() async throws {
        let logger = BenchLogging.bootstrap(label: "herald.bench", level: self.logLevel)
        let apis = (self.api ?? Environment.string("HERALD_API") ?? "http://127.0.0.1:8080")
            .split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces).trimmingSuffix("/") }
            .filter { !$0.isEmpty }
        guard let firstAPI = apis.first else { throw ValidationError("--api names no API") }
        let viaDispatch = self.viaDispatch || apis.count > 1
        var serverPIDs: [Int32] = []
        for text in (self.serverPID ?? "").split(separator: ",") {
            guard let pid = Int32(text.trimmingCharacters(in: .whitespaces)), pid > 0 else {
                throw ValidationError("--server-pid takes process ids, comma-separated, not \(self.serverPID ?? "")")
            }
            serverPIDs.append(pid)
        }
        let redis: RedisStatsReader?
        do {
            redis = try self.redisStats.map(RedisStatsReader.init(url:))
        } catch {
            throw ValidationError("--redis-stats: \(error)")
        }
        if viaDispatch && (self.tcp != nil || self.ws != nil) {
            throw ValidationError(
                "--tcp and --ws name one node's endpoint; with --via-dispatch (or several --api) dispatch names each client's node"
            )
        }
        let agents = (self.agents ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty }
        let settings = BenchSettings(
            scenario: self.scenario,
            preset: self.preset,
            connections: self.connections,
            workers: self.workers,
            agents: agents,
            clientScheduling: self.clientScheduling,
            transport: self.transport.transport,
            sourceAddresses: try self.sourceAddresses.map(SourceAddresses.parse) ?? [],
            rate: self.rate,
            connectRate: self.connectRate,
            duration: self.duration,
            singles: self.singles,
            batch: self.batch,
            payloadSize: self.payloadSize,
            httpConnections: self.httpConnections,
            pipeline: self.pipeline,
            heartbeatSeconds: self.heartbeat,
            topic: self.topic,
            userPrefix: self.userPrefix,
            serverPIDs: serverPIDs,
            viaDispatch: viaDispatch
        )
        if let problem = settings.problem { throw ValidationError(problem) }
        let adminKey = self.adminKey ?? Environment.string("HERALD_ADMIN_KEY")
        let target = try await BenchSetup.resolve(
            api: firstAPI,
            app: self.app ?? Environment.string("HERALD_APP"),
            secret: self.secret ?? Environment.string("HERALD_SECRET"),
            adminKey: adminKey,
            tcp: self.tcp,
            webSocket: self.ws
        )
        let progress = BenchProgressOutput(enabled: !self.quiet)
        let controller = BenchController(
            settings: settings,
            target: target,
            adminKey: adminKey,
            apis: apis,
            redis: redis,
            agentExecutable: OwnExecutable.url,
            group: MultiThreadedEventLoopGroup.singleton,
            logger: logger,
            progress: { progress.show($0) }
        )
        let report: BenchReport
        do {
            report = try await controller.run()
        } catch {
            progress.finish()
            throw CLIError("herald-bench \(self.scenario.rawValue): \(error)")
        }
        progress.finish()
        print(ReportTable.render(report), terminator: "")
        if let json = self.json {
            do {
                try report.json().write(to: URL(fileURLWithPath: json))
            } catch {
                throw CLIError("cannot write the report to \(json): \(error.localizedDescription)")
            }
        }
    }
}

extension BenchScenario: ExpressibleByArgument {}
extension ClientScheduling: ExpressibleByArgument {}
extension BenchPreset: ExpressibleByArgument {}
