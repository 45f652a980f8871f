import Foundation
import HeraldBench
import NIOCore
import NIOPosix
import Testing

/// Spreading the clients over a cluster by dispatch, and what the report says of it, without sockets.
@Suite("Cluster: dispatch spreading, cross-node counts, the report's per-node figures")
struct ClusterSpreadTests {
    static let a = BenchEndpoint(node: "a", tcpHost: "127.0.0.1", tcpPort: 7170, webSocketURL: "ws://127.0.0.1:7171/ws")
    static let b = BenchEndpoint(node: "b", tcpHost: "127.0.0.1", tcpPort: 7270, webSocketURL: "ws://127.0.0.1:7271/ws")
    static let c = BenchEndpoint(node: "c", tcpHost: "127.0.0.1", tcpPort: 7370, webSocketURL: "ws://127.0.0.1:7371/ws")

    /// Ten users: 0, 3, 6, 9 on c; 1, 4, 7 on a; 2, 5, 8 on b; pushes through a's API.
    static func layout(apis: [String?] = ["a"]) throws -> ClusterLayout {
        let dispatched = (0..<10).map { [Self.c, Self.a, Self.b][$0 % 3] }
        return try ClusterLayout.spread(dispatched: dispatched, apiNodeIDs: apis)
    }

    @Test func aDispatchAnswersFirstEndpointIsTheUsersNode() throws {
        let body = ByteBuffer(
            string: #"{"endpoints":[{"node":"b","tcp":"127.0.0.1:7270","ws":"ws://127.0.0.1:7271/ws"},"#
                + #"{"node":"a","tcp":"127.0.0.1:7170","ws":"ws://127.0.0.1:7171/ws"}],"#
                + #""reconnect":{"baseMs":500,"jitter":1,"maxMs":30000}}"#)
        #expect(try ClusterDispatch.firstEndpoint(in: body) == Self.b)
        #expect(throws: BenchError.self) {
            try ClusterDispatch.firstEndpoint(in: ByteBuffer(string: #"{"endpoints":[],"reconnect":{}}"#))
        }
        #expect(throws: BenchError.self) { try ClusterDispatch.firstEndpoint(in: ByteBuffer(string: "<html>")) }
        // The bench does not speak TLS: a TLS endpoint is refused in a sentence, not connected to.
        #expect(throws: BenchError.self) { try BenchEndpoint(node: "a", tcp: "tls://127.0.0.1:7170", ws: nil) }
        #expect(try BenchEndpoint(node: "a", tcp: "[::1]:7170", ws: nil).tcpAddress == "[::1]:7170")
    }

    @Test func usersSpreadOverTheNodesDispatchNamed() throws {
        let layout = try Self.layout()
        // Ordered by node id, whatever order the answers came in.
        #expect(layout.endpoints.map(\.node) == ["a", "b", "c"])
        #expect(layout.clientsPerNode == [3, 3, 4])
        #expect(layout.nodeOfUser == [2, 0, 1, 2, 0, 1, 2, 0, 1, 2])
        #expect(layout.apiNodes == [0])
        #expect(layout.knowsAPINodes)

        // One node id at two addresses is the cluster's mistake, said as such.
        let moved = BenchEndpoint(node: "a", tcpHost: "127.0.0.1", tcpPort: 9999, webSocketURL: nil)
        #expect(throws: BenchError.self) {
            try ClusterLayout.spread(dispatched: [Self.a, moved], apiNodeIDs: ["a"])
        }
    }

    @Test func eachWorkersPlanCarriesItsUsersNodes() throws {
        let layout = try Self.layout()
        let settings = BenchSettings(scenario: .unicast, connections: 10, viaDispatch: true)
        let plans = settings.plans(agents: 3, connectRate: 0, topics: [], acknowledge: true, layout: layout)
        #expect(plans.map(\.connections) == [4, 3, 3])
        #expect(plans.map(\.firstUser) == [0, 4, 7])
        #expect(plans[0].nodes?.indexes == [2, 0, 1, 2])
        #expect(plans[1].nodes?.indexes == [0, 1, 2])
        #expect(plans[2].nodes?.indexes == [0, 1, 2])
        for plan in plans {
            #expect(plan.nodes?.problem(connections: plan.connections) == nil)
            #expect(plan.nodes?.endpoints == [Self.a, Self.b, Self.c])
        }
        // Connection 1 of the second worker is user 5, on b.
        let target = BenchTarget(
            tcpHost: "127.0.0.1", tcpPort: 1, webSocketURL: nil, apiBaseURL: "http://127.0.0.1:8180", app: "x",
            secret: "s")
        #expect(plans[1].user(at: 1) == "u5")
        #expect(plans[1].endpoints(target: target)[plans[1].endpoint(at: 1)] == Self.b)

        // Without a layout every connection goes to the target's endpoint.
        let single = BenchSettings(scenario: .unicast, connections: 10).plans(
            agents: 1, connectRate: 0, topics: [], acknowledge: true)
        #expect(single[0].nodes == nil)
        #expect(single[0].endpoints(target: target) == [BenchEndpoint(target)])
        #expect(single[0].endpoint(at: 7) == 0)

        // An assignment that does not fit its pool is refused before anything connects.
        #expect(NodeAssignment(endpoints: [Self.a], indexes: [0, 0]).problem(connections: 3) != nil)
        #expect(NodeAssignment(endpoints: [Self.a], indexes: [0, 1]).problem(connections: 2) != nil)
        #expect(NodeAssignment(endpoints: [], indexes: []).problem(connections: 0) != nil)
    }

    @Test func unicastsCrossNodesWhenTheUserIsNotOnTheAPIsNode() throws {
        let tally = CrossNodeTally(layout: try Self.layout())
        // Users 1, 4, 7 are on a, whose API takes the pushes; the rest cross.
        tally.countMessages(to: [1, 4, 7], through: 0)
        #expect(tally.current == CrossNodeTally.Counts(deliveries: 3, crossing: 0))
        tally.countMessages(to: [0, 2, 3, 5], through: 0)
        #expect(tally.current == CrossNodeTally.Counts(deliveries: 7, crossing: 4))
        #expect(abs(tally.current.share - 4.0 / 7.0) < 1e-9)
        tally.reset()
        #expect(tally.current == CrossNodeTally.Counts())
        #expect(tally.current.share == 0)
    }

    @Test func aBroadcastCrossesToEveryClientOffTheAPIsNode() throws {
        // Two APIs, a's and c's, taking broadcasts in turn.
        let tally = CrossNodeTally(layout: try Self.layout(apis: ["a", "c"]))
        tally.countBroadcast(through: 0)
        #expect(tally.current == CrossNodeTally.Counts(deliveries: 10, crossing: 7))
        tally.countBroadcast(through: 1)
        #expect(tally.current == CrossNodeTally.Counts(deliveries: 20, crossing: 13))

        // An API on a node that holds no client: every delivery crosses.
        let elsewhere = CrossNodeTally(layout: try Self.layout(apis: ["d"]))
        elsewhere.countBroadcast(through: 0)
        elsewhere.countMessages(to: [1], through: 0)
        #expect(elsewhere.current == CrossNodeTally.Counts(deliveries: 11, crossing: 11))
    }

    @Test func theReportSaysClientsPerNodeAndTheCrossNodeShare() throws {
        let layout = try Self.layout()
        let figures = ClusterFigures(layout: layout, counts: CrossNodeTally.Counts(deliveries: 300, crossing: 200))
        #expect(figures.nodes.map(\.clients) == [3, 3, 4])
        #expect(figures.nodes.map(\.takesPushes) == [true, false, false])
        #expect(figures.nodes.map(\.endpoint) == ["127.0.0.1:7170", "127.0.0.1:7270", "127.0.0.1:7370"])
        #expect(figures.clientsText == "a 3 (API), b 3, c 4")
        #expect(figures.crossNodeText == "66.7% (200 of 300 deliveries)")
        #expect(figures.crossNodeShare.map { abs($0 - 2.0 / 3.0) < 1e-9 } == true)

        // Without the APIs' nodes (no admin key) the share is not made up.
        let unknown = ClusterFigures(
            layout: try Self.layout(apis: [nil]), counts: CrossNodeTally.Counts(deliveries: 300, crossing: 300))
        #expect(unknown.crossNodeShare == nil)
        #expect(unknown.crossNodeText.hasPrefix("not known: give --admin-key"))
        #expect(ClusterFigures(layout: layout, counts: nil).crossNodeText == "none pushed")

        // The table shows both lines; the JSON report keeps them.
        let settings = BenchSettings(scenario: .unicast, connections: 10, viaDispatch: true)
        let report = BenchReport(
            scenario: .unicast, startedAt: "2026-01-01T00:00:00Z", settings: settings,
            api: "http://127.0.0.1:8180", endpoint: "3 nodes by dispatch", app: "bench-x", host: "box", cores: 2,
            agents: [], connect: ConnectOutcome(attempted: 10, authenticated: 10, seconds: 0.1), figures: [],
            latency: [], http: nil, server: ServerFigures(), controllerCPUSeconds: nil, measuredSeconds: 1,
            bottleneck: Bottleneck.judge(
                wallSeconds: 1, serverCPU: nil, clientCPU: nil, sameMachine: false, machineCores: 2),
            clients: PoolSnapshot().counters, notes: [], cluster: figures)
        let lines = ReportTable.render(report).split(separator: "\n")
        func row(_ label: String, _ value: String) -> Bool {
            lines.contains { $0.hasPrefix("  " + label + " ") && $0.hasSuffix(" " + value) }
        }
        #expect(row("clients per node (dispatch)", "a 3 (API), b 3, c 4"))
        #expect(row("deliveries across nodes", "66.7% (200 of 300 deliveries)"))
        let decoded = try JSONDecoder().decode(BenchReport.self, from: try report.json())
        #expect(decoded.cluster == figures)
        #expect(decoded.settings.viaDispatch)
    }

    @Test func pushesSpreadOverSeveralAPIsRoundRobin() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        // Nothing connects before a request: the APIs need not exist.
        let apis = ["http://127.0.0.1:1", "http://127.0.0.1:2", "http://127.0.0.1:3"]
        let load = BenchHTTPLoad(apiBaseURLs: apis, bearer: "s", connections: 8, group: group)
        #expect(load.connectionAPIs == [0, 1, 2, 0, 1, 2, 0, 1])
        #expect((0..<10).map { load.api(ofRequest: $0) } == [0, 1, 2, 0, 1, 2, 0, 1, 0, 1])
        // One connection (the ordinary publisher) still reaches every API: one each.
        let ordinary = BenchHTTPLoad(apiBaseURLs: apis, bearer: "s", connections: 1, group: group)
        #expect(ordinary.connectionAPIs == [0, 1, 2])
        await load.close()
        await ordinary.close()
        try await group.shutdownGracefully()
    }
}
