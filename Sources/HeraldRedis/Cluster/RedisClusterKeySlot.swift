/// The hash slot of a key in Redis Cluster: CRC16 (XMODEM) of the key, or of its hash tag,
/// modulo 16384.
///
/// A hash tag is the part between the first `{` and the first `}` after it, when that part is
/// not empty: `{user1000}.following` and `{user1000}.followers` share a slot, so that commands
/// on both can go to one node.
public enum RedisClusterKeySlot {
    /// How many slots a cluster has.
    public static let count = 16384

    /// The slot of `key`, given as its bytes.
    public static func slot(forKey key: some Collection<UInt8>) -> Int {
        let hashed = self.hashTag(of: key) ?? key[...]
        return Int(self.crc16(hashed) & 0x3FFF)
    }

    /// The slot of `key`, given as text (its UTF-8 bytes are hashed).
    public static func slot(forKey key: String) -> Int {
        self.slot(forKey: key.utf8)
    }

    /// The part of `key` that is hashed when it has a non-empty hash tag.
    private static func hashTag<Key: Collection<UInt8>>(of key: Key) -> Key.SubSequence? {
        guard let open = key.firstIndex(of: UInt8(ascii: "{")) else { return nil }
        let afterOpen = key.index(after: open)
        guard let close = key[afterOpen...].firstIndex(of: UInt8(ascii: "}")), close != afterOpen else { return nil }
        return key[afterOpen..<close]
    }

    /// CRC16 with polynomial 0x1021, initial value 0, no reflection (XMODEM), as the Redis
    /// Cluster specification defines it.
    static func crc16(_ bytes: some Sequence<UInt8>) -> UInt16 {
        var crc: UInt16 = 0
        for byte in bytes {
            crc = (crc << 8) ^ self.table[Int(UInt8(truncatingIfNeeded: crc >> 8) ^ byte)]
        }
        return crc
    }

    private static let table: [UInt16] = (0..<256).map { index in
        var crc = UInt16(index) << 8
        for _ in 0..<8 {
            crc = crc & 0x8000 != 0 ? (crc << 1) ^ 0x1021 : crc << 1
        }
        return crc
    }
}
