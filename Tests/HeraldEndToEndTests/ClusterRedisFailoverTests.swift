import Foundation
import HeraldRedis
import HeraldTestUtils
import HeraldWire
import NIOCore
import Testing

extension ClusterEndToEnd {
    /// Three nodes on a Redis Cluster of the test's own (three primaries, one replica each) lose
    /// a primary: the one that serves the slot of a node's bus channel (the nodes subscribe with
    /// `SSUBSCRIBE` at each channel's primary), and a third of the other slots. The cluster
    /// promotes its replica; the nodes follow, the subscription to that channel included.
    @Suite("Redis Cluster failover", .serialized, .timeLimit(.minutes(3)))
    struct ClusterRedisFailoverTests {
        @Test(
            "A primary killed and its replica promoted: the nodes keep their clients, and cross-node delivery and new sessions work again"
        )
        func primaryFailover() async throws {
            let redis = try await TestRedisCluster.start(nodeTimeoutMilliseconds: 1000)
            try await ClusterHarness.finally({ await redis.remove() }) {
                let primaries = await redis.primaries()
                try #require(primaries.count == 3)
                let nodes = try await ClusterHarness.startNodes(3, leaseTTL: "10", redis: [redis.url(seeds: primaries)])
                try await ClusterHarness.finally({ await ClusterHarness.stop(nodes) }) {
                    // Messages to c's users travel on c's channel: killing its primary makes c's
                    // subscription follow the slot to the promoted replica.
                    let channel = try Self.busChannel(of: nodes[2], index: 2)
                    let victim = try await Self.owner(of: channel, among: primaries, redis: redis)
                    try await Self.primaryFailover(nodes, redis: redis, victim: victim)
                }
            }
        }

        /// The bus channel of the node started `index`th by `ClusterHarness.startNodes`, whose id
        /// is its namespace followed by `-index`.
        private static func busChannel(of node: HeraldProcess, index: Int) throws -> String {
            try #require(node.node.hasSuffix("-\(index)"))
            let namespace = node.node.dropLast("-\(index)".count)
            return "\(namespace):bus:\(node.node)"
        }

        /// The primary that serves the slot of `channel`.
        private static func owner(
            of channel: String, among primaries: [TestRedisServer], redis: TestRedisCluster
        ) async throws -> TestRedisServer {
            let client = try RedisClusterClient(url: redis.url(seeds: primaries))
            let map = try await client.currentSlotMap()
            await client.close()
            let node = try #require(map.primary(forSlot: RedisClusterKeySlot.slot(forKey: channel)))
            return try #require(primaries.first { $0.port == node.port })
        }

        private static func primaryFailover(_ nodes: [HeraldProcess], redis: TestRedisCluster, victim: TestRedisServer)
            async throws
        {
            let (a, b, c) = (nodes[0], nodes[1], nodes[2])
            let app = try await APIClient(a).createApp(prefix: "failover")
            let onA = try await ClusterHarness.client(on: a, app: app, user: "ann", issuer: a)
            let onC = try await ClusterHarness.client(on: c, app: app, user: "cat", issuer: a)
            #expect(await ClusterHarness.online(app, user: "cat", sessions: 1, asking: a))
            #expect(await ClusterHarness.online(app, user: "ann", sessions: 1, asking: c))
            _ = try await APIClient(a).push(app, users: ["cat"], payload: .text("before"))
            #expect(try await onC.receivePush().body.payloadBytes == Array("before".utf8))

            await victim.kill()
            let killed = ContinuousClock.now
            let promoted = await eventually(timeout: .seconds(30), interval: .milliseconds(100)) {
                guard await redis.primaries().count == 3 else { return false }
                return await redis.isHealthy()
            }
            #expect(promoted, "no replica took over the killed primary")
            let failedOver = ContinuousClock.now - killed

            // The clients were never disconnected.
            try await onA.ping()
            try await onC.ping()

            // Cross-node delivery resumes both ways.
            for (sender, receiver, user) in [(a, onC, "cat"), (c, onA, "ann")] {
                let resumed = await eventually(timeout: .seconds(30), interval: .milliseconds(1)) {
                    _ = try? await APIClient(sender).push(app, users: [user], payload: .text("probe"))
                    return (try? await receiver.receivePush(timeout: .milliseconds(300))) != nil
                }
                #expect(resumed, "a message from \(sender.node) did not reach \(user)")
            }
            print(
                "Redis Cluster failover: replica promoted \(failedOver) after the primary was killed; cross-node delivery again \(ContinuousClock.now - killed) after it."
            )
            _ = try await ClusterHarness.drain(onC, quiet: .milliseconds(300))
            _ = try await ClusterHarness.drain(onA, quiet: .milliseconds(300))

            // A session opened after the failover is registered and reached from another node.
            let onB = try await ClusterHarness.client(on: b, app: app, user: "ben", issuer: c)
            #expect(await ClusterHarness.online(app, user: "ben", sessions: 1, asking: a, timeout: .seconds(20)))
            _ = try await APIClient(a).push(app, users: ["ben", "cat"], payload: .text("after"))
            #expect(try await onB.receivePush(timeout: .seconds(10)).body.payloadBytes == Array("after".utf8))
            #expect(try await onC.receivePush(timeout: .seconds(10)).body.payloadBytes == Array("after".utf8))

            for client in [onA, onB, onC] { await client.close() }
            for node in nodes { _ = try await node.terminate() }
        }
    }
}
