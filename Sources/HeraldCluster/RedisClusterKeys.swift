/// The Redis key layout of the cluster state (docs/architecture.md, "Cluster state in Redis").
///
/// Ids are arbitrary UTF-8, braces included, so inside a hash tag they are written in
/// unpadded base64url, whose alphabet has neither `{` nor `}`: one user's keys share a slot
/// whatever the id holds.
struct RedisClusterKeys: Sendable {
    /// The prefix of every key and channel; tests give each run its own.
    let namespace: String

    init(namespace: String) {
        self.namespace = namespace
    }

    /// The hash of one user's sessions: a field per device and the order counter.
    func user(app: String, user: String) -> String {
        "\(self.namespace):user:{\(Self.encode(app)).\(Self.encode(user))}"
    }

    /// The set of the sessions recorded for a node.
    func nodeSessions(_ node: String) -> String {
        "\(self.namespace):node:{\(Self.encode(node))}:sessions"
    }

    /// The hash tag every lease shares, so that one `MGET` reads them all.
    private var leaseTag: String { "\(self.namespace):{nodes}" }

    /// A node's lease, expiring by `PX`.
    func lease(_ node: String) -> String {
        "\(self.leaseTag):lease:\(Self.encode(node))"
    }

    /// The set of every node that wrote a lease and did not withdraw it.
    var leaseMembers: String { "\(self.leaseTag):members" }

    /// An app's load: a field per node.
    func load(app: String) -> String {
        "\(self.namespace):load:{\(Self.encode(app))}"
    }

    /// The bus channel of one node.
    func busChannel(node: String) -> String {
        "\(self.namespace):bus:\(node)"
    }

    /// The bus channel of every node.
    var busAllChannel: String { "\(self.namespace):bus:all" }

    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

    /// Unpadded base64url of the id's UTF-8 bytes.
    static func encode(_ id: String) -> String {
        let bytes = Array(id.utf8)
        var output: [UInt8] = []
        output.reserveCapacity((bytes.count + 2) / 3 * 4)
        var index = 0
        while index < bytes.count {
            let count = min(3, bytes.count - index)
            var chunk = UInt32(bytes[index]) << 16
            if count > 1 { chunk |= UInt32(bytes[index + 1]) << 8 }
            if count > 2 { chunk |= UInt32(bytes[index + 2]) }
            for position in 0...count {
                output.append(Self.alphabet[Int((chunk >> (18 - 6 * UInt32(position))) & 0x3F)])
            }
            index += 3
        }
        return String(decoding: output, as: UTF8.self)
    }

    /// The id `text` encodes, or nil if it is not unpadded base64url of UTF-8.
    static func decode(_ text: Substring) -> String? {
        var values: [UInt8] = []
        values.reserveCapacity(text.utf8.count)
        for byte in text.utf8 {
            guard let value = Self.alphabet.firstIndex(of: byte) else { return nil }
            values.append(UInt8(value))
        }
        guard values.count % 4 != 1 else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(values.count * 3 / 4)
        var index = 0
        while index < values.count {
            let count = min(4, values.count - index)
            var chunk: UInt32 = 0
            for position in 0..<4 {
                chunk <<= 6
                if position < count { chunk |= UInt32(values[index + position]) }
            }
            for position in 0..<(count - 1) {
                bytes.append(UInt8(truncatingIfNeeded: chunk >> (16 - 8 * UInt32(position))))
            }
            index += 4
        }
        let id = String(decoding: bytes, as: UTF8.self)
        guard id.utf8.elementsEqual(bytes) else { return nil }
        return id
    }
}
