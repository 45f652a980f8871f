import NIOCore
import NIOPosix
import Testing

@testable import HeraldBench

/// Reading the cluster's Redis command counts, without a Redis.
@Suite("Redis cost: INFO commandstats, the stats reader's URL and replies, the figures")
struct RedisCostTests {
    static let info = """
        # Commandstats\r
        cmdstat_evalsha:calls=600,usec=9000,usec_per_call=15.00,rejected_calls=0,failed_calls=0\r
        cmdstat_hset:calls=602,usec=700,usec_per_call=1.16,rejected_calls=0,failed_calls=0\r
        cmdstat_info:calls=7,usec=300,usec_per_call=42.86,rejected_calls=0,failed_calls=0\r
        cmdstat_auth:calls=9,usec=90,usec_per_call=10.00,rejected_calls=0,failed_calls=0\r
        cmdstat_client|setname:calls=3,usec=3,usec_per_call=1.00,rejected_calls=0,failed_calls=0\r

        """

    @Test func commandstatsParseIntoCallsByCommand() {
        let stats = RedisCommandStats(info: Self.info)
        #expect(stats.calls == ["evalsha": 600, "hset": 602, "info": 7, "auth": 9, "client|setname": 3])
        #expect(RedisCommandStats(info: "# Commandstats\r\n").calls.isEmpty)
    }

    @Test func deltasLeaveOutTheReadersOwnCommands() {
        let before = RedisCommandStats(calls: ["evalsha": 100, "hset": 100, "info": 2, "auth": 2])
        let after = RedisCommandStats(info: Self.info)
        // The reading's AUTH and INFO are not the cluster's; a command new since then counts in full.
        #expect(after.callsSince(before) == ["evalsha": 500, "hset": 502, "client|setname": 3])
        #expect(after.totalSince(before) == 1_005)
        #expect(before.totalSince(before) == 0)
    }

    @Test func theReaderTakesTheURLsOfTheTests() throws {
        let plain = try RedisStatsReader(url: "redis://127.0.0.1:6390")
        #expect(plain.host == "127.0.0.1" && plain.port == 6390 && plain.user == nil && plain.password == nil)
        let password = try RedisStatsReader(url: "redis://:herald-123@127.0.0.1:23518")
        #expect(password.user == nil && password.password == "herald-123" && password.port == 23518)
        let acl = try RedisStatsReader(url: "redis://herald:acl-1@localhost")
        #expect(acl.user == "herald" && acl.password == "acl-1" && acl.host == "localhost" && acl.port == 6379)
        #expect(throws: BenchError.self) { try RedisStatsReader(url: "rediss://127.0.0.1:6380") }
        #expect(throws: BenchError.self) { try RedisStatsReader(url: "redis+cluster://127.0.0.1:7000") }
        #expect(throws: BenchError.self) { try RedisStatsReader(url: "redis://127.0.0.1:99999") }
    }

    @Test func repliesAreReadWhenWhole() throws {
        var buffer = ByteBuffer(string: "+OK\r\n$12\r\nhello\r\nworld\r\n-NOAUTH Authentication required.\r\n$5\r\nab")
        #expect(try RedisStatsReader.nextReply(&buffer) == .text("OK"))
        #expect(try RedisStatsReader.nextReply(&buffer) == .text("hello\r\nworld"))
        #expect(try RedisStatsReader.nextReply(&buffer) == .error("NOAUTH Authentication required."))
        // A bulk string not all here yet waits for the rest.
        #expect(try RedisStatsReader.nextReply(&buffer) == nil)
        buffer.writeString("cde\r\n")
        #expect(try RedisStatsReader.nextReply(&buffer) == .text("abcde"))
        #expect(try RedisStatsReader.nextReply(&buffer) == nil)
        var odd = ByteBuffer(string: ":1\r\n")
        #expect(throws: BenchError.self) { try RedisStatsReader.nextReply(&odd) }
        // A bulk string longer than its length said, or a bare line end: refused, not misread.
        var long = ByteBuffer(string: "$3\r\nabcd\r\n")
        #expect(throws: BenchError.self) { try RedisStatsReader.nextReply(&long) }
        var bare = ByteBuffer(string: "\n")
        #expect(throws: BenchError.self) { try RedisStatsReader.nextReply(&bare) }
    }

    @Test func figuresPerUnitAndTheSettleThreshold() throws {
        let cost = RedisCost(
            reader: try RedisStatsReader(url: "redis://127.0.0.1:1"), group: NIOSingletons.posixEventLoopGroup)
        let before = RedisCommandStats(calls: ["evalsha": 0])
        let after = RedisCommandStats(calls: ["evalsha": 300, "sadd": 300])
        cost.record("redisCommandsPerAuth", "Redis commands per AUTH", from: before, to: after, per: 120)
        // No units, or a reading missing: no figure rather than a made-up one.
        cost.record("x", "x", from: before, to: after, per: 0)
        cost.record("y", "y", from: nil, to: after, per: 10)
        #expect(cost.figures.map(\.key) == ["redisCommandsPerAuth"])
        #expect(cost.figures.first?.value == 5)
        #expect(cost.figures.first?.formatted == "5.00")
        cost.noteCommands(during: "the connects", from: before, to: after)
        cost.noteCommands(during: "the idle hold", from: after, to: after)
        #expect(
            cost.notes == [
                "Redis commands during the connects: EVALSHA 300, SADD 300",
                "Redis ran no command during the idle hold",
            ])

        #expect(Figure("k", "k", 0.00016, .ratio).formatted == "0.0002")
        #expect(Figure("k", "k", 0, .ratio).formatted == "0")
        #expect(Figure("k", "k", 94.52, .ratio).formatted == "94.5")
        #expect(RedisCost.settleThreshold(clients: 600) == 20)
        #expect(RedisCost.settleThreshold(clients: 19_000) == 190)
    }
}
