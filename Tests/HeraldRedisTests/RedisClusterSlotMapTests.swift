import HeraldRESP
import NIOCore
import Testing

@testable import HeraldRedis

@Suite("the Redis Cluster slot map")
struct RedisClusterSlotMapTests {
    static let origin = RedisClusterNode(host: "127.0.0.1", port: 27439)
    static let nodes = [27439, 47363, 29892].map { RedisClusterNode(host: "127.0.0.1", port: $0) }

    static func token(_ text: String) throws -> RESPToken {
        var buffer = ByteBuffer(string: text)
        return try #require(try RESPToken(consuming: &buffer))
    }

    static func token(_ value: RESPValue) throws -> RESPToken {
        var buffer = ByteBuffer()
        value.encode(into: &buffer)
        return try #require(try RESPToken(consuming: &buffer))
    }

    private func expectRecordedCluster(_ map: RedisClusterSlotMap) {
        #expect(map.shards.map(\.slots) == [[0...5460], [5461...10922], [10923...16383]])
        #expect(map.primaries == Self.nodes)
        #expect(map.shards.allSatisfy { $0.replicas.isEmpty })
        #expect(map.coversAllSlots)
        #expect(map.primary(forSlot: 0) == Self.nodes[0])
        #expect(map.primary(forSlot: 5460) == Self.nodes[0])
        #expect(map.primary(forSlot: 5461) == Self.nodes[1])
        #expect(map.primary(forSlot: 16383) == Self.nodes[2])
        #expect(map.primary(forSlot: 16384) == nil)
    }

    @Test("CLUSTER SHARDS, recorded in RESP2 and RESP3, and CLUSTER SLOTS give the same map")
    func recorded() throws {
        let resp2 = try RedisClusterSlotMap(clusterShardsReply: try Self.token(RedisClusterRecordedReplies.shardsRESP2), origin: Self.origin)
        let resp3 = try RedisClusterSlotMap(clusterShardsReply: try Self.token(RedisClusterRecordedReplies.shardsRESP3), origin: Self.origin)
        let slots = try RedisClusterSlotMap(clusterSlotsReply: try Self.token(RedisClusterRecordedReplies.slotsRESP2), origin: Self.origin)
        self.expectRecordedCluster(resp2)
        #expect(resp3 == resp2)
        #expect(slots == resp2)
    }

    private static func shardNode(_ host: String, _ port: Int64, role: String, health: String = "online") -> RESPValue {
        .map([
            .init(.bulkString(ByteBuffer(string: "id")), .bulkString(ByteBuffer(string: "\(host):\(port)"))),
            .init(.bulkString(ByteBuffer(string: "port")), .integer(port)),
            .init(.bulkString(ByteBuffer(string: "ip")), .bulkString(ByteBuffer(string: "10.0.0.\(port % 100)"))),
            .init(.bulkString(ByteBuffer(string: "endpoint")), .bulkString(ByteBuffer(string: host))),
            .init(.bulkString(ByteBuffer(string: "role")), .bulkString(ByteBuffer(string: role))),
            .init(.bulkString(ByteBuffer(string: "health")), .bulkString(ByteBuffer(string: health))),
        ])
    }

    private static func shard(_ bounds: [Int64], _ nodes: [RESPValue]) -> RESPValue {
        .map([
            .init(.bulkString(ByteBuffer(string: "slots")), .array(bounds.map { .integer($0) })),
            .init(.bulkString(ByteBuffer(string: "nodes")), .array(nodes)),
        ])
    }

    @Test("CLUSTER SHARDS with replicas, several ranges, an unknown endpoint and a shard without slots")
    func replicas() throws {
        let reply = RESPValue.array([
            Self.shard([0, 99, 200, 16383], [
                Self.shardNode("redis-a", 7001, role: "master"),
                Self.shardNode("redis-a-replica", 7004, role: "replica"),
                Self.shardNode("redis-a-failed", 7007, role: "replica", health: "failed"),
            ]),
            Self.shard([100, 199], [
                Self.shardNode("redis-b-replica", 7005, role: "replica"),
                Self.shardNode("?", 7002, role: "master"),
            ]),
            Self.shard([], [Self.shardNode("redis-c", 7003, role: "master")]),
        ])
        for version in [RESPVersion.resp2, .resp3] {
            var buffer = ByteBuffer()
            reply.encode(into: &buffer, version: version)
            let token = try #require(try RESPToken(consuming: &buffer))
            let map = try RedisClusterSlotMap(clusterShardsReply: token, origin: Self.origin)
            #expect(map.shards.count == 2)
            #expect(map.shards[0].primary == RedisClusterNode(host: "redis-a", port: 7001))
            #expect(map.shards[0].replicas == [RedisClusterNode(host: "redis-a-replica", port: 7004)])
            #expect(map.shards[0].slots == [0...99, 200...16383])
            // An endpoint of "?" falls back to the node's IP address.
            #expect(map.shards[1].primary == RedisClusterNode(host: "10.0.0.2", port: 7002))
            #expect(map.shards[1].replicas == [RedisClusterNode(host: "redis-b-replica", port: 7005)])
            #expect(map.primary(forSlot: 150) == RedisClusterNode(host: "10.0.0.2", port: 7002))
            #expect(map.primary(forSlot: 250) == RedisClusterNode(host: "redis-a", port: 7001))
            #expect(map.coversAllSlots)
        }
    }

    @Test("CLUSTER SLOTS: an empty host is the node asked, replicas follow the primary, ranges group by primary")
    func slotsReply() throws {
        func node(_ host: String, _ port: Int64) -> RESPValue {
            .array([.bulkString(ByteBuffer(string: host)), .integer(port), .bulkString(ByteBuffer(string: "id"))])
        }
        let reply = RESPValue.array([
            .array([.integer(0), .integer(8000), node("", 7001), node("10.0.0.4", 7004)]),
            .array([.integer(8001), .integer(16000), node("10.0.0.2", 7002)]),
            .array([.integer(16001), .integer(16383), node("", 7001), node("10.0.0.4", 7004)]),
        ])
        let map = try RedisClusterSlotMap(clusterSlotsReply: try Self.token(reply), origin: Self.origin)
        #expect(map.shards.count == 2)
        #expect(map.shards[0].primary == RedisClusterNode(host: "127.0.0.1", port: 7001))
        #expect(map.shards[0].replicas == [RedisClusterNode(host: "10.0.0.4", port: 7004)])
        #expect(map.shards[0].slots == [0...8000, 16001...16383])
        #expect(map.primary(forSlot: 16383) == RedisClusterNode(host: "127.0.0.1", port: 7001))
    }

    @Test("a reply of another shape is a clear error")
    func malformed() throws {
        for reply in [RESPValue.simpleString("OK"), .array([.integer(1)]), .array([.map([.init(.simpleString("slots"), .array([.integer(1)]))])])] {
            #expect {
                try RedisClusterSlotMap(clusterShardsReply: try Self.token(reply), origin: Self.origin)
            } throws: { error in
                guard let error = error as? RedisClientError else { return false }
                return error.code == .unexpectedReply && error.description.hasPrefix("Redis sent a reply nothing was waiting for: the reply to CLUSTER SHARDS")
            }
        }
        #expect(throws: RedisClientError.self) {
            try RedisClusterSlotMap(clusterSlotsReply: try Self.token(.array([.array([.integer(5)])])), origin: Self.origin)
        }
    }

    @Test("a slot assigned after MOVED leaves its old shard and joins the named primary's, or a new shard")
    func assign() {
        var map = RedisClusterSlotMap(shards: [
            .init(slots: [0...8191], primary: Self.nodes[0]),
            .init(slots: [8192...16383], primary: Self.nodes[1]),
        ])
        map.assign(slot: 100, to: Self.nodes[1])
        #expect(map.primary(forSlot: 100) == Self.nodes[1])
        #expect(map.shards[0].slots == [0...99, 101...8191])
        #expect(map.shards[1].slots == [8192...16383, 100...100])
        map.assign(slot: 0, to: Self.nodes[2])
        #expect(map.primary(forSlot: 0) == Self.nodes[2])
        #expect(map.shards[0].slots == [1...99, 101...8191])
        #expect(map.shards.count == 3)
        map.assign(slot: 16384, to: Self.nodes[2])
        #expect(map.primary(forSlot: 1) == Self.nodes[0])
    }

    @Test("redirects are read from MOVED and ASK errors, and nothing else")
    func redirects() {
        #expect(
            RedisClusterRedirect(errorMessage: "MOVED 3999 127.0.0.1:6381")
                == RedisClusterRedirect(kind: .moved, slot: 3999, node: RedisClusterNode(host: "127.0.0.1", port: 6381))
        )
        #expect(
            RedisClusterRedirect(errorMessage: "ASK 3999 redis-b:6381")
                == RedisClusterRedirect(kind: .ask, slot: 3999, node: RedisClusterNode(host: "redis-b", port: 6381))
        )
        #expect(
            RedisClusterRedirect(errorMessage: "MOVED 1 :7000", origin: RedisClusterNode(host: "redis-a", port: 7001))?.node
                == RedisClusterNode(host: "redis-a", port: 7000)
        )
        #expect(RedisClusterRedirect(errorMessage: "MOVED 1 [::1]:7000")?.node == RedisClusterNode(host: "::1", port: 7000))
        #expect(RedisClusterRedirect(errorMessage: "MOVED 1 [::1]:7000")?.node.description == "[::1]:7000")
        #expect(RedisClusterRedirect(errorMessage: "MOVED 1 :7000") == nil)
        #expect(RedisClusterRedirect(errorMessage: "MOVED 16384 127.0.0.1:7000") == nil)
        #expect(RedisClusterRedirect(errorMessage: "ERR unknown command") == nil)
        #expect(RedisClusterRedirect(errorMessage: "TRYAGAIN Multiple keys request during rehashing of slot") == nil)
    }
}
