import HeraldCore
import NIOCore
import Testing

extension ClusterStateContract {
    /// The bus: to one node, to every node but the sender, in order.
    @Suite("Message bus", .timeLimit(.minutes(2)))
    struct MessageBusContractTests {
        /// The next message that is not a probe of ``waitUntilSubscribed(_:_:nodes:)``.
        static func next(_ iterator: inout AsyncStream<BusEvent>.Iterator) async -> BusMessage? {
            while let event = await iterator.next() {
                if case .message(let message) = event, message.origin != "probe" { return message }
            }
            return nil
        }

        /// A subscription is made in the background: probes go out until every subscription
        /// has heard one on its node's own channel and one on the channel of every node, so
        /// that what a test publishes next reaches them all. (On a Redis Cluster the two
        /// channels are on two shards, subscribed to one after the other: hearing the one
        /// proves nothing of the other. The suite's time limit ends a subscription that never
        /// comes.)
        static func waitUntilSubscribed(
            _ bus: any MessageBus, _ iterators: inout [AsyncStream<BusEvent>.Iterator], nodes: [String]
        ) async throws {
            let publisher = Task {
                while !Task.isCancelled {
                    var probes = [BusPublication(BusMessage(origin: "probe", body: .appChanged(app: "probe-all")), to: .all)]
                    for node in nodes {
                        probes.append(BusPublication(BusMessage(origin: "probe", body: .appChanged(app: "probe-own")), to: .node(node)))
                    }
                    try? await bus.publish(probes)
                    try? await Task.sleep(for: .milliseconds(50))
                }
            }
            defer { publisher.cancel() }
            for index in iterators.indices {
                var heard = Set<String>()
                while heard.count < 2, let event = await iterators[index].next() {
                    if case .message(let message) = event, message.origin == "probe", let app = Self.app(of: message) {
                        heard.insert(app)
                    }
                }
            }
        }

        static func app(of message: BusMessage?) -> String? {
            guard case .appChanged(let app)? = message?.body else { return nil }
            return app
        }

        @Test(arguments: ClusterStateKind.allCases)
        func deliversToOneNodeAndToAllButTheSender(kind: ClusterStateKind) async throws {
            try await ClusterState.with(kind) { state in
                let bus = state.bus
                let nodes = ["node-a", "node-b", "node-c"]
                var iterators = nodes.map { bus.subscribe(node: $0).makeAsyncIterator() }
                try await Self.waitUntilSubscribed(bus, &iterators, nodes: nodes)

                try await bus.publish(BusMessage(origin: "node-a", body: .appChanged(app: "to-b")), to: .node("node-b"))
                try await bus.publish(BusMessage(origin: "node-a", body: .appChanged(app: "to-all")), to: .all)
                try await bus.publish(BusMessage(origin: "node-b", body: .appChanged(app: "to-a")), to: .node("node-a"))

                // node-a hears nothing of its own message to all: its next is node-b's.
                #expect(Self.app(of: await Self.next(&iterators[0])) == "to-a")
                #expect(Self.app(of: await Self.next(&iterators[1])) == "to-b")
                #expect(Self.app(of: await Self.next(&iterators[1])) == "to-all")
                // node-c never hears node-b's message.
                #expect(Self.app(of: await Self.next(&iterators[2])) == "to-all")
                try await bus.publish(BusMessage(origin: "node-a", body: .appChanged(app: "last")), to: .node("node-c"))
                #expect(Self.app(of: await Self.next(&iterators[2])) == "last")
            }
        }

        @Test(arguments: ClusterStateKind.allCases)
        func aBatchReachesEachTargetInOrder(kind: ClusterStateKind) async throws {
            try await ClusterState.with(kind) { state in
                let bus = state.bus
                let nodes = ["node-a", "node-b", "node-c"]
                var iterators = nodes.map { bus.subscribe(node: $0).makeAsyncIterator() }
                try await Self.waitUntilSubscribed(bus, &iterators, nodes: nodes)
                func message(_ app: String) -> BusMessage { BusMessage(origin: "node-a", body: .appChanged(app: app)) }
                try await bus.publish([
                    BusPublication(message("b1"), to: .node("node-b")),
                    BusPublication(message("c1"), to: .node("node-c")),
                    BusPublication(message("all"), to: .all),
                    BusPublication(message("b2"), to: .node("node-b")),
                ])
                try await bus.publish([])
                // Order holds per target; a node's own channel and the channel of every node
                // are two streams (on a Redis Cluster, two shards).
                var toB: [String?] = []
                for _ in 0..<3 { toB.append(Self.app(of: await Self.next(&iterators[1]))) }
                #expect(toB.filter { $0 != "all" } == ["b1", "b2"] && toB.contains("all"), "\(toB)")
                var toC: [String?] = []
                for _ in 0..<2 { toC.append(Self.app(of: await Self.next(&iterators[2]))) }
                #expect(Set(toC) == ["c1", "all"], "\(toC)")
                try await bus.publish(message("a-only"), to: .node("node-a"))
                // node-a heard nothing of the batch: not even its message to all.
                #expect(Self.app(of: await Self.next(&iterators[0])) == "a-only")
            }
        }

        @Test(arguments: ClusterStateKind.allCases)
        func keepsEachSendersOrderAndEveryBody(kind: ClusterStateKind) async throws {
            try await ClusterState.with(kind) { state in
                let bus = state.bus
                var iterators = [bus.subscribe(node: "node-b").makeAsyncIterator()]
                try await Self.waitUntilSubscribed(bus, &iterators, nodes: ["node-b"])
                for index in 0..<200 {
                    try await bus.publish(BusMessage(origin: "node-a", body: .appChanged(app: "m\(index)")), to: .node("node-b"))
                }
                let payload = ByteBuffer(string: "news")
                try await bus.publish(
                    BusMessage(origin: "node-a", body: .broadcast(app: "app", seq: 9, payload: payload)), to: .node("node-b"))
                for index in 0..<200 {
                    #expect(Self.app(of: await Self.next(&iterators[0])) == "m\(index)")
                }
                guard case .broadcast(let app, let seq, let received)? = await Self.next(&iterators[0])?.body else {
                    Issue.record("the broadcast did not arrive")
                    return
                }
                #expect(app == "app" && seq == 9 && received == payload)
            }
        }

        @Test(arguments: [ClusterStateKind.redis, .redisCluster])
        func dropsWhatItCannotDecode(kind: ClusterStateKind) async throws {
            try await ClusterState.with(kind) { state in
                let bus = state.bus
                let publishRaw = try #require(state.publishRaw)
                var iterators = [bus.subscribe(node: "node-b").makeAsyncIterator()]
                try await Self.waitUntilSubscribed(bus, &iterators, nodes: ["node-b"])
                try await publishRaw(state.busChannel("node-b"), ByteBuffer(bytes: [1, 0xFF, 0xFF, 0xFF, 0xFF]))
                try await publishRaw(state.busChannel("node-b"), ByteBuffer(bytes: [99]))
                try await bus.publish(BusMessage(origin: "node-a", body: .appChanged(app: "after")), to: .node("node-b"))
                #expect(Self.app(of: await Self.next(&iterators[0])) == "after")
            }
        }
    }
}
