/// Which node serves each of a Redis Cluster's slots: the shards, each a primary with its
/// replicas and the slot ranges it serves.
public struct RedisClusterSlotMap: Hashable, Sendable {
    /// A primary, its replicas and the slots they serve.
    public struct Shard: Hashable, Sendable {
        /// The slot ranges the shard serves.
        public var slots: [ClosedRange<Int>]
        /// The node that takes the shard's writes.
        public var primary: RedisClusterNode
        /// The nodes that replicate the primary.
        public var replicas: [RedisClusterNode]

        /// Creates a shard.
        public init(slots: [ClosedRange<Int>], primary: RedisClusterNode, replicas: [RedisClusterNode] = []) {
            self.slots = slots
            self.primary = primary
            self.replicas = replicas
        }
    }

    /// The shards, in the order the cluster listed them.
    public private(set) var shards: [Shard]
    /// For each slot, the index of its shard in `shards`, or -1 when no shard serves it.
    private var owners: [Int16]

    /// Creates a map from its shards; a slot listed by two shards belongs to the later one.
    public init(shards: [Shard]) {
        self.shards = shards
        self.owners = Array(repeating: -1, count: RedisClusterKeySlot.count)
        for (index, shard) in shards.enumerated() {
            for range in shard.slots {
                for slot in range.clamped(to: 0...RedisClusterKeySlot.count - 1) {
                    self.owners[slot] = Int16(index)
                }
            }
        }
    }

    /// The primary that serves `slot`, or `nil` when no node does.
    public func primary(forSlot slot: Int) -> RedisClusterNode? {
        guard self.owners.indices.contains(slot) else { return nil }
        let owner = Int(self.owners[slot])
        return owner >= 0 ? self.shards[owner].primary : nil
    }

    /// Every primary, once each.
    public var primaries: [RedisClusterNode] {
        self.shards.map(\.primary)
    }

    /// Whether every slot is served.
    public var coversAllSlots: Bool {
        !self.owners.contains(-1)
    }

    /// Records that `slot` now belongs to the shard whose primary is `node` (after `MOVED`),
    /// adding that shard when the map does not know it yet.
    public mutating func assign(slot: Int, to node: RedisClusterNode) {
        guard self.owners.indices.contains(slot) else { return }
        let previous = Int(self.owners[slot])
        if previous >= 0 {
            guard self.shards[previous].primary != node else { return }
            self.shards[previous].slots = self.shards[previous].slots.flatMap { range -> [ClosedRange<Int>] in
                guard range.contains(slot) else { return [range] }
                var pieces: [ClosedRange<Int>] = []
                if range.lowerBound < slot { pieces.append(range.lowerBound...slot - 1) }
                if slot < range.upperBound { pieces.append(slot + 1...range.upperBound) }
                return pieces
            }
        }
        if let index = self.shards.firstIndex(where: { $0.primary == node }) {
            self.shards[index].slots.append(slot...slot)
            self.owners[slot] = Int16(index)
        } else {
            self.shards.append(Shard(slots: [slot...slot], primary: node))
            self.owners[slot] = Int16(self.shards.count - 1)
        }
    }
}
