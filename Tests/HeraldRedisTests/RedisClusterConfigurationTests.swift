import HeraldRESP
import HeraldRedis
import NIOCore
import Testing

@Suite("Redis Cluster URLs and commands")
struct RedisClusterConfigurationTests {
    @Test("redis+cluster:// URLs give the seeds and the credentials")
    func urls() throws {
        let configuration = try RedisClusterConfiguration(url: "redis+cluster://herald:s%40cret@10.0.0.1:7001,10.0.0.2:7002,[::1]:7003,cache.local")
        #expect(configuration.seeds == [
            RedisClusterNode(host: "10.0.0.1", port: 7001),
            RedisClusterNode(host: "10.0.0.2", port: 7002),
            RedisClusterNode(host: "::1", port: 7003),
            RedisClusterNode(host: "cache.local", port: 6379),
        ])
        #expect(configuration.node.username == "herald")
        #expect(configuration.node.password == "s@cret")
        let bare = try RedisClusterConfiguration(url: "redis+cluster://:pw@127.0.0.1:7000/")
        #expect(bare.seeds == [RedisClusterNode(host: "127.0.0.1", port: 7000)])
        #expect(bare.node.username == nil)
        #expect(bare.node.password == "pw")
    }

    @Test("a URL that cannot be used is a clear error, without its password")
    func invalid() {
        for url in ["redis://127.0.0.1:7000", "redis+cluster://:secret@127.0.0.1:7000,", "redis+cluster://:secret@127.0.0.1:99999", "redis+cluster://:secret@127.0.0.1:7000/2"] {
            #expect {
                try RedisClusterConfiguration(url: url)
            } throws: { error in
                guard let error = error as? RedisClientError else { return false }
                return error.code == .invalidConfiguration && !error.description.contains("secret")
            }
        }
    }

    @Test("a command's slot comes from the argument named as its key")
    func commands() {
        #expect(RedisClusterCommand(RESPCommand("GET", "foo"), keyAt: 1).slot == 12182)
        #expect(RedisClusterCommand(RESPCommand("GET", .bytes(.init(string: "{user1000}.x"))), keyAt: 1).slot == 3443)
        #expect(RedisClusterCommand(RESPCommand("GET", .integer(123456789)), keyAt: 1).slot == 12739)
        #expect(RedisClusterCommand(RESPCommand("PING"), keyAt: 1).slot == nil)
        #expect(RedisClusterCommand(RESPCommand("PING"), slot: 5).slot == 5)
    }
}
