import HeraldRESP
import HeraldRedis
import NIOCore
import Testing

/// Sharded pub/sub against the real three-master Redis Cluster that scripts/test starts. The
/// slot a test moves is the slot of a channel of its own (with any keys other tests left in it
/// moved along), so tests running at the same time are only ever redirected.
@Suite(
    "the shard subscriber against a real cluster",
    .enabled(if: RedisTestEnvironment.isClusterAvailable, RedisTestEnvironment.clusterSkipReason)
)
struct RedisShardSubscriberIntegrationTests {
    private func spublish(_ channel: String, _ payload: String, using client: RedisClusterClient) async throws -> Int64?
    {
        try await client.send(RESPCommand("SPUBLISH", .string(channel), .string(payload)), keyAt: 1).integer
    }

    /// The subscriber's next events, until `done` says it has enough or the stream ends; fails
    /// after 30 seconds.
    private func events(
        of subscriber: RedisShardSubscriber, until done: @escaping @Sendable ([RedisSubscriberEvent]) -> Bool
    ) async throws -> [RedisSubscriberEvent] {
        try await withinSeconds(30) {
            var iterator = subscriber.events.makeAsyncIterator()
            var events: [RedisSubscriberEvent] = []
            while !done(events), let event = await iterator.next() {
                events.append(event)
            }
            return events
        }
    }

    /// The payload of each event that is a message, as text, by channel; anything else as such.
    private func payloads(_ events: [RedisSubscriberEvent]) -> [String] {
        events.map { event in
            guard case .message(let message) = event else { return "\(event)" }
            #expect(message.kind == .shardChannel)
            return "\(message.channel): \(String(buffer: message.payload))"
        }
    }

    @Test("SSUBSCRIBE to channels on all three primaries, each at its own; SPUBLISH reaches each")
    func everyShard() async throws {
        let client = RedisClusterClient(configuration: try RedisTestEnvironment.clusterConfiguration())
        let subscriber = RedisShardSubscriber(cluster: client)
        let map = try await client.currentSlotMap()
        #expect(map.primaries.count == 3)
        // One channel per primary.
        let owners = Dictionary(uniqueKeysWithValues: map.primaries.map { (Self.channel(servedBy: $0, in: map), $0) })
        let channels = owners.keys.sorted()
        try await withinSeconds(30) { try await subscriber.ssubscribe(channels) }
        #expect(await subscriber.subscriptions() == owners)

        for channel in channels {
            #expect(try await self.spublish(channel, "to \(channel)", using: client) == 1)
        }
        let received = self.payloads(try await self.events(of: subscriber) { $0.count == channels.count })
        #expect(received.sorted() == channels.map { "\($0): to \($0)" })

        await subscriber.close()
        #expect(try await self.events(of: subscriber) { _ in false }.isEmpty)
        await client.close()
    }

    @Test("a channel's slot moved to another primary: the subscription follows it, and what is published after arrives")
    func followsTheSlot() async throws {
        let configuration = try RedisTestEnvironment.clusterConfiguration()
        let client = RedisClusterClient(configuration: configuration)
        let subscriber = RedisShardSubscriber(cluster: client)
        let channel = "{\(RedisTestEnvironment.key("moving-channel"))}:bus"
        let slot = RedisClusterKeySlot.slot(forKey: channel)
        let map = try await client.currentSlotMap()
        let source = try #require(map.primary(forSlot: slot))
        let target = try #require(map.primaries.first { $0 != source })
        // A channel that stays where it is, on the third primary.
        let stayingOwner = try #require(map.primaries.first { $0 != source && $0 != target })
        let staying = Self.channel(servedBy: stayingOwner, in: map)

        try await withinSeconds(30) { try await subscriber.ssubscribe([channel, staying]) }
        #expect(await subscriber.subscriptions() == [channel: source, staying: stayingOwner])
        #expect(try await self.spublish(channel, "before", using: client) == 1)
        #expect(self.payloads(try await self.events(of: subscriber) { $0.count == 1 }) == ["\(channel): before"])

        try await Self.moveSlot(slot, from: source, to: target, primaries: map.primaries, configuration: configuration)

        // The source ends the subscription as it gives up the slot; the subscriber says so,
        // subscribes at the target and says that too.
        let reports = try await self.events(of: subscriber) { $0.last == .reconnected }
        guard case .disconnected(let error)? = reports.first else {
            Issue.record("the move was not reported: \(reports)")
            return
        }
        #expect(error.code == .subscriptionEnded)
        #expect(reports.count == 2)
        #expect(await subscriber.subscriptions() == [channel: target, staying: stayingOwner])

        #expect(try await self.spublish(channel, "after", using: client) == 1)
        #expect(try await self.spublish(staying, "still here", using: client) == 1)
        #expect(
            self.payloads(try await self.events(of: subscriber) { $0.count == 2 }) == [
                "\(channel): after", "\(staying): still here",
            ])

        await subscriber.close()
        await client.close()
    }

    /// A channel of this test's own whose slot `node` serves.
    static func channel(servedBy node: RedisClusterNode, in map: RedisClusterSlotMap) -> String {
        while true {
            let channel = RedisTestEnvironment.key("shard-channel")
            if map.primary(forSlot: RedisClusterKeySlot.slot(forKey: channel)) == node { return channel }
        }
    }

    /// Moves `slot` by hand, as `redis-cli --cluster reshard` does: `IMPORTING` on the target,
    /// `MIGRATING` on the source, every key in it `MIGRATE`d, then `SETSLOT NODE` on the
    /// target, the source and the other primaries.
    static func moveSlot(
        _ slot: Int, from source: RedisClusterNode, to target: RedisClusterNode, primaries: [RedisClusterNode],
        configuration: RedisClusterConfiguration
    ) async throws {
        let sourceAdmin = try RedisTestEnvironment.nodeClient(source)
        let targetAdmin = try RedisTestEnvironment.nodeClient(target)
        let others = primaries.filter { $0 != source && $0 != target }
        let admins = try others.map { try RedisTestEnvironment.nodeClient($0) }
        defer {
            Task {
                for admin in admins + [sourceAdmin, targetAdmin] { await admin.close() }
            }
        }
        let sourceID = try #require(try await sourceAdmin.send(RESPCommand("CLUSTER", "MYID")).string)
        let targetID = try #require(try await targetAdmin.send(RESPCommand("CLUSTER", "MYID")).string)
        let slotArgument = RESPCommand.Argument.integer(Int64(slot))
        #expect(
            try await targetAdmin.send(RESPCommand("CLUSTER", "SETSLOT", slotArgument, "IMPORTING", .string(sourceID)))
                .string == "OK")
        #expect(
            try await sourceAdmin.send(RESPCommand("CLUSTER", "SETSLOT", slotArgument, "MIGRATING", .string(targetID)))
                .string == "OK")
        while true {
            let batch = try await sourceAdmin.send(RESPCommand("CLUSTER", "GETKEYSINSLOT", slotArgument, 100))
            let names = batch.elements?.compactMap(\.string) ?? []
            if names.isEmpty { break }
            var arguments: [RESPCommand.Argument] = [.string(target.host), .integer(Int64(target.port)), "", 0, 10_000]
            if let password = configuration.node.password {
                arguments +=
                    configuration.node.username.map { ["AUTH2", .string($0), .string(password)] } ?? [
                        "AUTH", .string(password),
                    ]
            }
            arguments += ["KEYS"] + names.map { .string($0) }
            #expect(try await sourceAdmin.send(RESPCommand("MIGRATE", arguments: arguments)).string == "OK")
        }
        #expect(
            try await targetAdmin.send(RESPCommand("CLUSTER", "SETSLOT", slotArgument, "NODE", .string(targetID)))
                .string == "OK")
        #expect(
            try await sourceAdmin.send(RESPCommand("CLUSTER", "SETSLOT", slotArgument, "NODE", .string(targetID)))
                .string == "OK")
        // Not to the target or the source again: Redis takes a slot away and gives it back
        // for SETSLOT NODE, which ends the subscriptions to its shard channels even on their
        // owner (the subscriber would follow once more, to the same node).
        for admin in admins {
            _ = try await admin.send(RESPCommand("CLUSTER", "SETSLOT", slotArgument, "NODE", .string(targetID)))
        }
    }
}
