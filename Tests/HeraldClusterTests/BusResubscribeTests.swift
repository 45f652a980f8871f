import HeraldCluster
import HeraldCore
import HeraldRedis
import HeraldTesting
import Testing

extension ClusterStateContract {
    /// A subscription that lost its connection says so and hears what is published after.
    /// Redis: the suite's own server, which the test restarts (the suite runs one test at a time).
    @Suite("Bus resubscription", .timeLimit(.minutes(2)))
    struct BusResubscribeTests {
        @Test(arguments: [ClusterStateKind.memory, .redis])
        func resubscribesAfterTheServerRestarts(kind: ClusterStateKind) async throws {
            switch kind {
            case .memory:
                let bus = InMemoryMessageBus()
                try await Self.check(bus, restart: { bus.simulateResubscribe() })
            case .redis, .redisCluster:
                let client = RedisClient(
                    configuration: try ClusterTestEnvironment.configuration())
                let bus = RedisMessageBus(client: client, namespace: ClusterTestEnvironment.namespace())
                do {
                    try await Self.check(bus, restart: { try await ClusterTestEnvironment.restartServer(using: client) })
                } catch {
                    await client.close()
                    throw error
                }
                await client.close()
            }
        }

        static func check(_ bus: any MessageBus, restart: () async throws -> Void) async throws {
            var iterators = [bus.subscribe(node: "node-b").makeAsyncIterator()]
            try await MessageBusContractTests.waitUntilSubscribed(bus, &iterators, nodes: ["node-b"])
            try await restart()
            while let event = await iterators[0].next() {
                if case .resubscribed = event { break }
            }
            // The publishing client may meet its closed connection once more: publish until heard.
            let publisher = Task {
                while !Task.isCancelled {
                    try? await bus.publish(BusMessage(origin: "node-a", body: .appChanged(app: "after")), to: .node("node-b"))
                    try? await Task.sleep(for: .milliseconds(100))
                }
            }
            defer { publisher.cancel() }
            #expect(MessageBusContractTests.app(of: await MessageBusContractTests.next(&iterators[0])) == "after")
        }
    }
}
