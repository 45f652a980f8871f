import Testing

@testable import HeraldRedis

@Suite("Redis Cluster key slots")
struct RedisClusterKeySlotTests {
    @Test("CRC16 is XMODEM: the specification's check value for 123456789 is 0x31C3")
    func crc16() {
        #expect(RedisClusterKeySlot.crc16(Array("123456789".utf8)) == 0x31C3)
        #expect(RedisClusterKeySlot.crc16([UInt8]()) == 0)
    }

    /// Answers of `CLUSTER KEYSLOT` recorded from Redis 7.0.15.
    @Test(
        "slots match what Redis answers to CLUSTER KEYSLOT",
        arguments: [
            ("foo", 12182), ("bar", 5061), ("hello", 866), ("herald", 2546), ("123456789", 12739), ("", 0),
        ]
    )
    func recorded(key: String, slot: Int) {
        #expect(RedisClusterKeySlot.slot(forKey: key) == slot)
    }

    /// The examples of the Redis Cluster specification, with the answers Redis 7.0.15 gave for them.
    @Test(
        "hash tags: the first { with a non-empty } after it",
        arguments: [
            ("{user1000}.following", 3443), ("{user1000}.followers", 3443),
            ("foo{}{bar}", 8363), ("foo{{bar}}zap", 4015), ("foo{bar}{zap}", 5061), ("{}foo", 9500),
        ]
    )
    func hashTags(key: String, slot: Int) {
        #expect(RedisClusterKeySlot.slot(forKey: key) == slot)
    }

    @Test("a hash tag hashes its contents only; an unclosed or empty one hashes the whole key")
    func hashTagRules() {
        #expect(RedisClusterKeySlot.slot(forKey: "{bar}anything") == RedisClusterKeySlot.slot(forKey: "bar"))
        #expect(RedisClusterKeySlot.slot(forKey: "foo{{bar}}zap") == RedisClusterKeySlot.slot(forKey: "{bar"))
        #expect(RedisClusterKeySlot.slot(forKey: "foo{bar") == Int(RedisClusterKeySlot.crc16(Array("foo{bar".utf8)) % 16384))
        #expect(RedisClusterKeySlot.slot(forKey: "foo{}{bar}") == Int(RedisClusterKeySlot.crc16(Array("foo{}{bar}".utf8)) % 16384))
    }

    @Test("text and bytes of the same key share a slot, and every slot is in range")
    func bytes() {
        for index in 0..<2_000 {
            let key = "herald:\(index)"
            let slot = RedisClusterKeySlot.slot(forKey: key)
            #expect(RedisClusterKeySlot.slot(forKey: Array(key.utf8)) == slot)
            #expect((0..<RedisClusterKeySlot.count).contains(slot))
        }
    }
}
