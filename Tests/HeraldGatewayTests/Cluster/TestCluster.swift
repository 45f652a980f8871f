import HeraldCore
import HeraldTestUtils
import HeraldTesting
import HeraldWire
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

@testable import HeraldCore
@testable import HeraldGateway

/// Several nodes in one process, sharing an in-memory directory, registry and bus.
struct TestCluster {
    var nodes: [TestNode]
    var directory: InMemorySessionDirectory
    var registry: SeverableRegistry
    var bus: RecordingBus
    var catalog: GatedCatalog

    /// Long, because nothing renews in the background here: leases are written by
    /// ``renewAll()`` and by the tests, and a 10 s lease lapsed between the two renewals of
    /// ``with(nodes:leaseTTL:_:)`` when the whole suite started at once on two cores, leaving a
    /// node's view without the others. Tests of expiry move instants back instead of waiting.
    static let leaseTTL: Duration = .seconds(300)

    /// The nodes did not all subscribe to the bus in time.
    struct NotReady: Error {}

    static func with(
        nodes count: Int,
        leaseTTL: Duration = TestCluster.leaseTTL,
        _ body: (TestCluster) async throws -> Void
    ) async throws {
        let directory = InMemorySessionDirectory()
        let registry = SeverableRegistry()
        let bus = RecordingBus()
        let catalog = GatedCatalog()
        try await catalog.create(Fixtures.app)
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        var nodes: [TestNode] = []
        var tasks: [Task<Void, any Error>] = []
        let logger = Logger(label: "cluster-test")
        for index in 1...count {
            let id = "n\(index)"
            let apps = AppRegistry([Fixtures.app])
            let observer = ClusterObserver(node: id, directory: directory, bus: bus, logger: logger)
            let gateway = Gateway(
                configuration: GatewayConfiguration(host: "127.0.0.1", tcpPort: 0, webSocketPort: 0, nodeID: id),
                eventLoopGroup: group,
                apps: apps,
                observer: observer,
                replay: LiveOnlyReplay(),
                logger: logger
            )
            tasks.append(Task { try await gateway.run() })
            let addresses = try await gateway.waitUntilBound()
            let liveNodes = LiveNodes()
            let receiver = ClusterBusReceiver(
                gateway: gateway, bus: bus, directory: directory, catalog: catalog, apps: apps, logger: logger)
            let runtime = ClusterNode(gateway: gateway, observer: observer, receiver: receiver)
            tasks.append(Task { try await runtime.run() })
            let membership = ClusterMembership(
                gateway: gateway,
                registry: registry,
                directory: directory,
                liveNodes: liveNodes,
                configuration: .init(
                    roles: .all,
                    tcpEndpoint: "127.0.0.1:\(addresses.tcpPort)",
                    webSocketEndpoint: "ws://127.0.0.1:\(addresses.webSocketPort)/ws",
                    maxConnections: 1000,
                    leaseTTL: leaseTTL
                ),
                logger: logger
            )
            let delivery = ClusterDelivery(
                gateway: gateway, directory: directory, bus: bus, registry: registry, liveNodes: liveNodes,
                logger: logger)
            nodes.append(
                TestNode(
                    id: id, gateway: gateway, delivery: delivery, receiver: receiver, membership: membership,
                    liveNodes: liveNodes, apps: apps, addresses: addresses))
        }
        let cluster = TestCluster(nodes: nodes, directory: directory, registry: registry, bus: bus, catalog: catalog)
        // Every node renews once, then once more to see the others.
        for _ in 0..<2 { await cluster.renewAll() }
        do {
            // Each node's bus receiver subscribes when its task starts.
            guard await eventually(timeout: .seconds(30), { bus.subscriptionCount == count }) else {
                throw NotReady()
            }
            try await body(cluster)
        } catch {
            for task in tasks { task.cancel() }
            for task in tasks { _ = try? await task.value }
            try? await group.shutdownGracefully()
            throw error
        }
        for task in tasks { task.cancel() }
        for task in tasks { _ = try? await task.value }
        try await group.shutdownGracefully()
    }

    /// One renewal of every node, each from a fresh state.
    func renewAll() async {
        for node in self.nodes {
            var state = ClusterMembership<Gateway>.State()
            state.lastView = node.liveNodes.leases
            await node.membership.renew(&state)
        }
    }

    /// Waits until the directory lists `count` sessions of `user`.
    func waitForDirectory(user: String, sessions count: Int) async throws -> Bool {
        await eventually {
            let found = (try? await self.directory.sessions(
                app: "demo", users: [user], liveNodes: Set(self.nodes.map { ByteString($0.id) }))) ?? []
            return found.first?.count == count
        }
    }
}
