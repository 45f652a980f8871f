import HeraldRESP
import HeraldRedis
import NIOCore
import Testing

/// Against the real three-master Redis Cluster that scripts/test starts; one at a time, since
/// one of them moves a slot.
@Suite(
    "the Redis Cluster client against a real cluster",
    .serialized,
    .enabled(if: RedisTestEnvironment.isClusterAvailable, RedisTestEnvironment.clusterSkipReason)
)
struct RedisClusterIntegrationTests {
    private func get(_ key: String) -> RedisClusterCommand {
        RedisClusterCommand(RESPCommand("GET", .string(key)), keyAt: 1)
    }

    private func set(_ key: String, _ value: String) -> RedisClusterCommand {
        RedisClusterCommand(RESPCommand("SET", .string(key), .string(value)), keyAt: 1)
    }

    private func delete(_ keys: [String], using client: RedisClusterClient) async throws {
        _ = try await client.pipeline(keys.map { RedisClusterCommand(RESPCommand("DEL", .string($0)), keyAt: 1) })
    }

    /// Checks that `node` answers a plain `GET key` with the redirect `kind`, so that the client is known to have met it.
    private func expectRedirect(_ kind: String, from node: RedisClient, for key: String) async throws {
        await #expect {
            try await node.send(RESPCommand("GET", .string(key)))
        } throws: { error in
            (error as? RedisClientError)?.message?.hasPrefix(kind + " ") == true
        }
    }

    @Test("our slots are the ones Redis computes (CLUSTER KEYSLOT)")
    func slots() async throws {
        let client = RedisClusterClient(configuration: try RedisTestEnvironment.clusterConfiguration())
        let keys = (0..<200).map { RedisTestEnvironment.key("slot-\($0)") } + ["{tag}a", "a{tag}", "{}x", "x{}", "{{x}}", "é"]
        let answers = try await client.pipeline(keys.map { RedisClusterCommand(RESPCommand("CLUSTER", "KEYSLOT", .string($0)), slot: nil) })
        #expect(answers.map { try? $0.get().integer } == keys.map { Int64(RedisClusterKeySlot.slot(forKey: $0)) })
        await client.close()
    }

    @Test("SET and GET of many keys, spread over the slots of all three primaries")
    func manyKeys() async throws {
        let client = RedisClusterClient(configuration: try RedisTestEnvironment.clusterConfiguration())
        let map = try await client.currentSlotMap()
        #expect(map.primaries.count == 3)
        #expect(map.coversAllSlots)
        let keys = (0..<300).map { RedisTestEnvironment.key("many-\($0)") }
        #expect(Set(keys.compactMap { map.primary(forSlot: RedisClusterKeySlot.slot(forKey: $0)) }).count == 3)
        for key in keys {
            #expect(try await client.send(RESPCommand("SET", .string(key), .string("v-\(key)")), keyAt: 1).string == "OK")
        }
        for key in keys {
            #expect(try await client.send(RESPCommand("GET", .string(key)), keyAt: 1).string == "v-\(key)")
        }
        try await self.delete(keys, using: client)
        await client.close()
    }

    @Test("a pipeline touching all three shards gets every reply, in order")
    func pipeline() async throws {
        let client = RedisClusterClient(configuration: try RedisTestEnvironment.clusterConfiguration())
        let keys = (0..<600).map { RedisTestEnvironment.key("pipeline-\($0)") }
        let map = try await client.currentSlotMap()
        #expect(Set(keys.compactMap { map.primary(forSlot: RedisClusterKeySlot.slot(forKey: $0)) }).count == 3)
        let sets = try await client.pipeline(keys.map { self.set($0, "v-\($0)") })
        #expect(sets.map { try? $0.get().string } == Array(repeating: "OK", count: keys.count))
        let mixed = keys.flatMap { [self.get($0), RedisClusterCommand(RESPCommand("STRLEN", .string($0)), keyAt: 1)] }
        let replies = try await client.pipeline(mixed)
        #expect(replies.count == keys.count * 2)
        #expect(stride(from: 0, to: replies.count, by: 2).map { try? replies[$0].get().string } == keys.map { "v-\($0)" })
        #expect(stride(from: 1, to: replies.count, by: 2).map { try? replies[$0].get().integer } == keys.map { Int64("v-\($0)".utf8.count) })
        try await self.delete(keys, using: client)
        await client.close()
    }

    @Test("keys with one hash tag land on one shard, where multi-key commands work")
    func hashTags() async throws {
        let client = RedisClusterClient(configuration: try RedisTestEnvironment.clusterConfiguration())
        let tag = "{\(RedisTestEnvironment.key("tag"))}"
        let keys = (0..<50).map { "\(tag):\($0)" }
        let slot = RedisClusterKeySlot.slot(forKey: keys[0])
        #expect(keys.allSatisfy { RedisClusterKeySlot.slot(forKey: $0) == slot })
        let owner = try #require(try await client.currentSlotMap().primary(forSlot: slot))
        #expect(try await client.send(RESPCommand("MSET", arguments: keys.flatMap { [.string($0), .string("v-\($0)")] }), keyAt: 1).string == "OK")
        let values = try await client.send(RESPCommand("MGET", arguments: keys.map { .string($0) }), keyAt: 1)
        #expect(values.elements?.map { $0.string } == keys.map { "v-\($0)" })
        // They are all on the slot's primary.
        let admin = try RedisTestEnvironment.nodeClient(owner)
        #expect(try await admin.send(RESPCommand("CLUSTER", "COUNTKEYSINSLOT", .integer(Int64(slot)))).integer == Int64(keys.count))
        #expect(try await admin.send(RESPCommand("CLUSTER", "KEYSLOT", .string(keys[7]))).integer == Int64(slot))
        _ = try await client.send(RESPCommand("DEL", arguments: keys.map { .string($0) }), keyAt: 1)
        await admin.close()
        await client.close()
    }

    @Test("a slot moved by hand (MIGRATING, IMPORTING, MIGRATE, SETSLOT NODE) while commands run: every command succeeds")
    func reshard() async throws {
        let configuration = try RedisTestEnvironment.clusterConfiguration()
        let client = RedisClusterClient(configuration: configuration)
        let tag = "{\(RedisTestEnvironment.key("reshard"))}"
        let keys = (0..<40).map { "\(tag):\($0)" }
        let counter = "\(tag):counter"
        let slot = RedisClusterKeySlot.slot(forKey: counter)
        let sets = try await client.pipeline(keys.map { self.set($0, "v-\($0)") })
        #expect(sets.allSatisfy { (try? $0.get()) != nil })

        let map = try await client.currentSlotMap()
        let source = try #require(map.primary(forSlot: slot))
        let target = try #require(map.primaries.first { $0 != source })
        let admins = try map.primaries.map { try RedisTestEnvironment.nodeClient($0) }
        let sourceAdmin = try RedisTestEnvironment.nodeClient(source)
        let targetAdmin = try RedisTestEnvironment.nodeClient(target)
        let sourceID = try #require(try await sourceAdmin.send(RESPCommand("CLUSTER", "MYID")).string)
        let targetID = try #require(try await targetAdmin.send(RESPCommand("CLUSTER", "MYID")).string)

        // Commands run throughout: reads of the keys and increments of a counter whose final
        // value says that each increment ran exactly once.
        let workload = Task { () -> (increments: Int64, failures: [String]) in
            var increments: Int64 = 0
            var failures: [String] = []
            repeat {
                for key in keys.prefix(4) {
                    do {
                        let value = try await client.send(RESPCommand("GET", .string(key)), keyAt: 1).string
                        if value != "v-\(key)" { failures.append("GET \(key) gave \(value ?? "nothing")") }
                    } catch {
                        failures.append("GET \(key): \(error)")
                    }
                }
                do {
                    _ = try await client.send(RESPCommand("INCR", .string(counter)), keyAt: 1)
                    increments += 1
                } catch {
                    failures.append("INCR: \(error)")
                }
            } while !Task.isCancelled
            return (increments, failures)
        }

        func migrate(_ batch: [String]) async throws {
            guard !batch.isEmpty else { return }
            var arguments: [RESPCommand.Argument] = [.string(target.host), .integer(Int64(target.port)), "", 0, 10_000]
            if let password = configuration.node.password {
                arguments += configuration.node.username.map { ["AUTH2", .string($0), .string(password)] } ?? ["AUTH", .string(password)]
            }
            arguments += ["KEYS"] + batch.map { .string($0) }
            #expect(try await sourceAdmin.send(RESPCommand("MIGRATE", arguments: arguments)).string == "OK")
        }

        #expect(try await targetAdmin.send(RESPCommand("CLUSTER", "SETSLOT", .integer(Int64(slot)), "IMPORTING", .string(sourceID))).string == "OK")
        #expect(try await sourceAdmin.send(RESPCommand("CLUSTER", "SETSLOT", .integer(Int64(slot)), "MIGRATING", .string(targetID))).string == "OK")
        try await migrate(Array(keys.prefix(20)))
        try await self.expectRedirect("ASK", from: sourceAdmin, for: keys[0])

        // Half the keys have moved: those are reached by ASK, the others where they were.
        let halfway = try await client.pipeline(keys.map { self.get($0) })
        #expect(halfway.map { try? $0.get().string } == keys.map { "v-\($0)" })
        let created = "\(tag):created"
        #expect(try await client.send(RESPCommand("SET", .string(created), "new"), keyAt: 1).string == "OK")
        #expect(try await client.currentSlotMap().primary(forSlot: slot) == source)

        // The rest, the counter included, then the slot itself.
        while true {
            let batch = try await sourceAdmin.send(RESPCommand("CLUSTER", "GETKEYSINSLOT", .integer(Int64(slot)), 100))
            let names = batch.elements?.compactMap(\.string) ?? []
            if names.isEmpty { break }
            try await migrate(names)
        }
        #expect(try await targetAdmin.send(RESPCommand("CLUSTER", "SETSLOT", .integer(Int64(slot)), "NODE", .string(targetID))).string == "OK")
        #expect(try await sourceAdmin.send(RESPCommand("CLUSTER", "SETSLOT", .integer(Int64(slot)), "NODE", .string(targetID))).string == "OK")
        for admin in admins {
            _ = try await admin.send(RESPCommand("CLUSTER", "SETSLOT", .integer(Int64(slot)), "NODE", .string(targetID)))
        }

        // The source now answers MOVED: followed, and the map learns it.
        try await self.expectRedirect("MOVED", from: sourceAdmin, for: keys[0])
        let after = try await client.pipeline(keys.map { self.get($0) } + [self.get(created)])
        #expect(after.map { try? $0.get().string } == keys.map { "v-\($0)" } + ["new"])
        // A read of the map that the workload's redirects started before every node knew may
        // still land; a fresh read settles it.
        var owner = try await client.currentSlotMap().primary(forSlot: slot)
        for _ in 0..<50 where owner != target {
            owner = try await client.refreshSlotMap().primary(forSlot: slot)
        }
        #expect(owner == target)

        workload.cancel()
        let outcome = await workload.value
        #expect(outcome.failures == [])
        #expect(outcome.increments > 0)
        #expect(try await client.send(RESPCommand("GET", .string(counter)), keyAt: 1).integer == outcome.increments)
        #expect(try await targetAdmin.send(RESPCommand("CLUSTER", "COUNTKEYSINSLOT", .integer(Int64(slot)))).integer == Int64(keys.count + 2))

        _ = try await client.send(RESPCommand("DEL", arguments: (keys + [counter, created]).map { .string($0) }), keyAt: 1)
        for admin in admins + [sourceAdmin, targetAdmin] {
            await admin.close()
        }
        await client.close()
    }
}
