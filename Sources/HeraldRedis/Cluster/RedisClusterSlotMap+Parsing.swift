import HeraldRESP

extension RedisClusterSlotMap {
    /// Reads the reply to `CLUSTER SHARDS` (Redis 7 and later), in RESP2 or RESP3.
    ///
    /// A node's address is its `endpoint`, or its `ip` when the endpoint is unknown; an empty
    /// one stands for `origin`'s host, the node that was asked. Replicas that are not online
    /// are left out; shards that serve no slot are too.
    /// - Throws: ``RedisClientError`` `unexpectedReply` when the reply does not have that shape.
    public init(clusterShardsReply reply: RESPToken, origin: RedisClusterNode) throws(RedisClientError) {
        guard let entries = reply.elements else { throw Self.malformed("CLUSTER SHARDS", "is not a list") }
        var shards: [Shard] = []
        for entry in entries {
            guard let fields = entry.map, let slotBounds = fields["slots"]?.elements, let nodes = fields["nodes"]?.elements else {
                throw Self.malformed("CLUSTER SHARDS", "has a shard without slots or nodes")
            }
            let bounds = slotBounds.compactMap { $0.integer.map(Int.init) }
            guard bounds.count == slotBounds.count, bounds.count % 2 == 0 else {
                throw Self.malformed("CLUSTER SHARDS", "has slot bounds that are not pairs of numbers")
            }
            let slots = stride(from: 0, to: bounds.count, by: 2).compactMap { index -> ClosedRange<Int>? in
                bounds[index] <= bounds[index + 1] ? bounds[index]...bounds[index + 1] : nil
            }
            var primary: RedisClusterNode?
            var replicas: [RedisClusterNode] = []
            for node in nodes {
                guard let fields = node.map, let port = fields["port"]?.integer else {
                    throw Self.malformed("CLUSTER SHARDS", "has a node without a port")
                }
                var host = fields["endpoint"]?.string ?? ""
                if host == "?" || host.isEmpty { host = fields["ip"]?.string ?? "" }
                if host == "?" || host.isEmpty { host = origin.host }
                let address = RedisClusterNode(host: host, port: Int(port))
                switch fields["role"]?.string {
                case "master", "primary":
                    primary = address
                default:
                    if fields["health"]?.string == "online" { replicas.append(address) }
                }
            }
            guard !slots.isEmpty else { continue }
            guard let primary else { throw Self.malformed("CLUSTER SHARDS", "has a shard with slots but no primary") }
            shards.append(Shard(slots: slots, primary: primary, replicas: replicas))
        }
        self.init(shards: shards)
    }

    /// Reads the reply to `CLUSTER SLOTS` (before Redis 7), grouping the ranges by primary.
    ///
    /// An empty host stands for `origin`'s host, the node that was asked.
    /// - Throws: ``RedisClientError`` `unexpectedReply` when the reply does not have that shape.
    public init(clusterSlotsReply reply: RESPToken, origin: RedisClusterNode) throws(RedisClientError) {
        guard let entries = reply.elements else { throw Self.malformed("CLUSTER SLOTS", "is not a list") }
        var shards: [Shard] = []
        for entry in entries {
            guard let parts = entry.elements?.tokens, parts.count >= 3,
                let first = parts[0].integer, let last = parts[1].integer, first <= last
            else { throw Self.malformed("CLUSTER SLOTS", "has a range without bounds") }
            let nodes = try parts[2...].map { part throws(RedisClientError) -> RedisClusterNode in
                guard let fields = part.elements?.tokens, fields.count >= 2, let port = fields[1].integer else {
                    throw Self.malformed("CLUSTER SLOTS", "has a node without a port")
                }
                let host = fields[0].string ?? ""
                return RedisClusterNode(host: host.isEmpty || host == "?" ? origin.host : host, port: Int(port))
            }
            let range = Int(first)...Int(last)
            if let index = shards.firstIndex(where: { $0.primary == nodes[0] }) {
                shards[index].slots.append(range)
            } else {
                shards.append(Shard(slots: [range], primary: nodes[0], replicas: Array(nodes.dropFirst())))
            }
        }
        self.init(shards: shards)
    }

    private static func malformed(_ command: String, _ why: String) -> RedisClientError {
        RedisClientError(.unexpectedReply, message: "the reply to \(command) \(why)")
    }
}
