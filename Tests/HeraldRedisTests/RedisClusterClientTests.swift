import HeraldRESP
import Logging
import NIOCore
import Testing

@testable import HeraldRedis

@Suite("the Redis Cluster client's routing and redirects, against an in-process cluster")
struct RedisClusterClientTests {
    private func client(
        _ cluster: FakeRedisCluster,
        maximumRedirects: Int = 5,
        minimumRefreshInterval: TimeAmount = .hours(1)
    ) -> RedisClusterClient {
        let configuration = RedisClusterConfiguration(
            seeds: [cluster.nodes[0]],
            maximumRedirects: maximumRedirects,
            refreshInterval: .hours(1),
            minimumRefreshInterval: minimumRefreshInterval
        )
        return RedisClusterClient(configuration: configuration, transport: cluster, logger: Logger(label: "test"))
    }

    /// Keys whose slots fall on every node of `cluster`.
    private func keys(_ count: Int) -> [String] {
        (0..<count).map { "key:\($0)" }
    }

    @Test("commands go to the primary that serves their key's slot, after one read of the slot map")
    func routing() async throws {
        let cluster = FakeRedisCluster()
        let client = self.client(cluster)
        for key in self.keys(60) {
            #expect(try await client.send(RESPCommand("SET", .string(key), .string("v-\(key)")), keyAt: 1).string == "OK")
        }
        for key in self.keys(60) {
            #expect(try await client.send(RESPCommand("GET", .string(key)), keyAt: 1).string == "v-\(key)")
            let owner = await cluster.owner(ofSlot: RedisClusterKeySlot.slot(forKey: key))
            #expect(await cluster.value(of: key, on: owner) == "v-\(key)")
        }
        let keyCalls = await cluster.calls.filter { !$0.commands.contains("CLUSTER") }
        #expect(keyCalls.count == 120)
        #expect(Set(keyCalls.map(\.node)) == Set(cluster.nodes))
        #expect(await cluster.calls(of: "SHARDS").count == 1)
        #expect(keyCalls.allSatisfy { !$0.asking })
        await client.close()
    }

    @Test("MOVED updates the map and the command is sent again to the named node; the next one goes there directly")
    func moved() async throws {
        let cluster = FakeRedisCluster()
        let client = self.client(cluster)
        let key = "moving"
        let slot = RedisClusterKeySlot.slot(forKey: key)
        _ = try await client.send(RESPCommand("SET", .string(key), "1"), keyAt: 1)
        let from = await cluster.owner(ofSlot: slot)
        let to = try #require(cluster.nodes.first { $0 != from })
        await cluster.move(slot: slot, to: to)

        #expect(try await client.send(RESPCommand("GET", .string(key)), keyAt: 1).string == "1")
        #expect(try await client.currentSlotMap().primary(forSlot: slot) == to)
        #expect(try await client.send(RESPCommand("GET", .string(key)), keyAt: 1).string == "1")
        let gets = await cluster.calls(of: "GET").map(\.node)
        #expect(gets == [from, to, to])
        // The read prompted by MOVED waits for the minimum interval (an hour here).
        #expect(await cluster.calls(of: "SHARDS").count == 1)
        await client.close()
    }

    @Test("ASK sends the command once to the named node after ASKING, and leaves the map as it was")
    func ask() async throws {
        let cluster = FakeRedisCluster()
        let client = self.client(cluster)
        let moved = "{tag}moved"
        let stayed = "{tag}stayed"
        let slot = RedisClusterKeySlot.slot(forKey: moved)
        _ = try await client.send(RESPCommand("SET", .string(moved), "m"), keyAt: 1)
        _ = try await client.send(RESPCommand("SET", .string(stayed), "s"), keyAt: 1)
        let from = await cluster.owner(ofSlot: slot)
        let to = try #require(cluster.nodes.first { $0 != from })
        await cluster.migrate(slot: slot, to: to, keys: [moved])

        #expect(try await client.send(RESPCommand("GET", .string(moved)), keyAt: 1).string == "m")
        #expect(try await client.send(RESPCommand("GET", .string(stayed)), keyAt: 1).string == "s")
        // A new key of a migrating slot is created where the slot is going.
        #expect(try await client.send(RESPCommand("SET", .string("{tag}new"), "n"), keyAt: 1).string == "OK")
        #expect(await cluster.value(of: "{tag}new", on: to) == "n")
        #expect(try await client.currentSlotMap().primary(forSlot: slot) == from)

        let gets = await cluster.calls(of: "GET")
        #expect(gets.map(\.node) == [from, to, from])
        #expect(gets.map(\.asking) == [false, true, false])
        #expect(await cluster.calls(of: "SHARDS").count == 1)
        await client.close()
    }

    @Test("the map is read once at a time: redirects met during a read start no other")
    func oneReadAtATime() async throws {
        let cluster = FakeRedisCluster()
        let client = self.client(cluster, minimumRefreshInterval: .zero)
        _ = try await client.currentSlotMap()
        let keys = self.keys(12)
        for key in keys {
            let slot = RedisClusterKeySlot.slot(forKey: key)
            let owner = await cluster.owner(ofSlot: slot)
            await cluster.move(slot: slot, to: try #require(cluster.nodes.first { $0 != owner }))
        }
        await cluster.holdShards()
        let read = Task { try await client.refreshSlotMap() }
        while await cluster.calls(of: "SHARDS").count < 2 {
            await Task.yield()
        }
        // Each of these meets MOVED while the read is held.
        for key in keys {
            #expect(try await client.send(RESPCommand("SET", .string(key), "1"), keyAt: 1).string == "OK")
        }
        await cluster.releaseShards()
        _ = try await read.value
        #expect(await cluster.calls(of: "SHARDS").count == 2)
        await client.close()
    }

    @Test("a command bounced between nodes fails after the allowed number of redirects, with a clear error")
    func redirectLimit() async throws {
        let cluster = FakeRedisCluster()
        let client = self.client(cluster, maximumRedirects: 3)
        let key = "bounced"
        let owner = await cluster.owner(ofSlot: RedisClusterKeySlot.slot(forKey: key))
        let other = try #require(cluster.nodes.first { $0 != owner })
        await cluster.bounce(owner, to: other)
        await cluster.bounce(other, to: owner)
        await #expect {
            try await client.send(RESPCommand("GET", .string(key)), keyAt: 1)
        } throws: { error in
            guard let error = error as? RedisClientError else { return false }
            return error.code == .tooManyRedirects
                && error.description.hasPrefix("The Redis Cluster redirected the command too many times: the command GET was redirected 4 times")
        }
        #expect(await cluster.calls(of: "GET").count == 4)
        await client.close()
    }

    @Test("a pipeline is split per shard and its replies come back in the caller's order, redirected ones included")
    func pipeline() async throws {
        let cluster = FakeRedisCluster()
        let client = self.client(cluster)
        let keys = self.keys(90)
        let sets = try await client.pipeline(keys.map { RedisClusterCommand(RESPCommand("SET", .string($0), .string("v-\($0)")), keyAt: 1) })
        #expect(sets.map { try? $0.get().string } == Array(repeating: "OK", count: keys.count))
        let setCalls = await cluster.calls(of: "SET")
        #expect(setCalls.count == 3)
        for call in setCalls {
            // Each node got its own keys, in the caller's order.
            let expected = keys.filter { RedisClusterKeySlot.slot(forKey: $0) * 3 / RedisClusterKeySlot.count == cluster.nodes.firstIndex(of: call.node) }
            #expect(call.commands.filter { $0.hasPrefix("key:") } == expected)
        }

        let movedKey = keys[7]
        let slot = RedisClusterKeySlot.slot(forKey: movedKey)
        let from = await cluster.owner(ofSlot: slot)
        await cluster.move(slot: slot, to: try #require(cluster.nodes.first { $0 != from }))
        let gets = try await client.pipeline(keys.map { RedisClusterCommand(RESPCommand("GET", .string($0)), keyAt: 1) } + [RedisClusterCommand(RESPCommand("PING"), slot: nil)])
        #expect(gets.map { try? $0.get().string } == keys.map { "v-\($0)" } + ["PONG"])
        await client.close()
    }

    @Test("before Redis 7 the map comes from CLUSTER SLOTS")
    func slotsFallback() async throws {
        let cluster = FakeRedisCluster()
        await cluster.setRefusesShards(true)
        let client = self.client(cluster)
        let map = try await client.currentSlotMap()
        #expect(map.primaries == cluster.nodes)
        #expect(map.coversAllSlots)
        #expect(await cluster.calls(of: "SLOTS").count == 1)
        await client.close()
    }

    @Test("a node that cannot be reached prompts a new map, and the command goes where it says")
    func unreachable() async throws {
        let cluster = FakeRedisCluster()
        let client = self.client(cluster, minimumRefreshInterval: .zero)
        let key = "failing-over"
        _ = try await client.currentSlotMap()
        let (lost, heir) = try #require(await cluster.failOver(ownerOf: key))

        #expect(try await client.send(RESPCommand("SET", .string(key), "1"), keyAt: 1).string == "OK")
        #expect(await cluster.value(of: key, on: heir) == "1")
        // The failed attempt prompted a new read of the map, from a node that answered.
        let calls = await cluster.calls
        let failed = try #require(calls.firstIndex { $0.node == lost && $0.commands.contains("SET") })
        #expect(calls[(failed + 1)...].contains { $0.commands.contains("SHARDS") && $0.node != lost })
        #expect(try await client.currentSlotMap().primaries.contains(lost) == false)
        await client.close()
    }

    @Test("a slot no node serves, and a cluster no node of which answers, are clear errors")
    func notServed() async throws {
        let cluster = FakeRedisCluster()
        for node in cluster.nodes { await cluster.setUnreachable(node) }
        let client = self.client(cluster)
        await #expect {
            try await client.send(RESPCommand("GET", "x"), keyAt: 1)
        } throws: { error in
            guard let error = error as? RedisClientError else { return false }
            return error.code == .slotNotServed && error.description.hasPrefix("No node of the Redis Cluster serves the slot: no node of the cluster gave its slot map (node0:7000)")
        }
        await client.close()
        await #expect(throws: RedisClientError(.clientClosed)) {
            try await client.send(RESPCommand("GET", "x"), keyAt: 1)
        }
    }
}
