import HeraldCore
import HeraldRedis
import Testing

@testable import HeraldCluster

/// The key layout: ids of any bytes stay inside their hash tag, and one user's keys share a slot.
@Suite struct RedisClusterKeysTests {
    static let ids = ["", "a", "ab", "abc", "abcd", "}{", "{user}", "zo\u{EB}", "zoe\u{308}", "\u{1F600} . :", "a:b.c d"]

    @Test func idsRoundTripThroughTheirEncoding() {
        for id in Self.ids {
            let encoded = RedisClusterKeys.encode(id)
            #expect(!encoded.contains("{") && !encoded.contains("}") && !encoded.contains(".") && !encoded.contains(":"))
            #expect(RedisClusterKeys.decode(Substring(encoded)).map { Array($0.utf8) } == Array(id.utf8))
        }
        #expect(RedisClusterKeys.encode("zo\u{EB}") != RedisClusterKeys.encode("zoe\u{308}"))
        #expect(RedisClusterKeys.decode("a") == nil)
        #expect(RedisClusterKeys.decode("a+b/") == nil)
        // Not UTF-8 (a lone 0xFF).
        #expect(RedisClusterKeys.decode("_w") == nil)
    }

    @Test func aUsersKeysAndTheLeasesShareTheirSlots() {
        let keys = RedisClusterKeys(namespace: "herald")
        for user in Self.ids {
            let key = keys.user(app: "{app}", user: user)
            let tag = "\(RedisClusterKeys.encode("{app}")).\(RedisClusterKeys.encode(user))"
            #expect(RedisClusterKeySlot.slot(forKey: key) == RedisClusterKeySlot.slot(forKey: tag))
        }
        let leases = ["a", "b", "}{"].map { RedisClusterKeySlot.slot(forKey: keys.lease($0)) }
        #expect(Set(leases + [RedisClusterKeySlot.slot(forKey: keys.leaseMembers)]).count == 1)
        #expect(keys.busChannel(node: "node-a") == "herald:bus:node-a")
        #expect(keys.busAllChannel == "herald:bus:all")
    }

    @Test func sessionRecordsRoundTrip() {
        let id = SessionID(node: "n\u{F6}de:{1}", connection: .max, number: 7, generation: 9)
        let token = RedisSessionRecord.token(id)
        #expect(RedisSessionRecord.id(token: Substring(token)) == id)
        #expect(RedisSessionRecord.device(field: RedisSessionRecord.field(device: "d: #")) == "d: #")
        #expect(RedisSessionRecord.device(field: RedisSessionRecord.counterField) == nil)
    }
}
