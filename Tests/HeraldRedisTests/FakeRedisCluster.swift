import HeraldRESP
import NIOCore

@testable import HeraldRedis

/// An in-process Redis Cluster for the client's routing tests: nodes that own slots, keep
/// strings and answer `GET`, `SET`, `CLUSTER SHARDS` (or `CLUSTER SLOTS`) and redirects as
/// Redis does.
actor FakeRedisCluster: RedisClusterTransport {
    /// What one call of the transport carried.
    struct Call: Equatable {
        var node: RedisClusterNode
        var commands: [String]
        var asking: Bool
    }

    let nodes: [RedisClusterNode]
    private var owners: [RedisClusterNode]
    private var migrating: [Int: (from: RedisClusterNode, to: RedisClusterNode)] = [:]
    private var stores: [RedisClusterNode: [String: String]] = [:]
    private var unreachable: Set<RedisClusterNode> = []
    private var bouncing: [RedisClusterNode: RedisClusterNode] = [:]
    /// Error lines every node answers key commands with, one per command, before it runs them again.
    private var refusals: [String] = []
    private(set) var calls: [Call] = []
    /// Whether `CLUSTER SHARDS` is refused as an unknown subcommand, as before Redis 7.
    private var refusesShards = false
    /// While set, `CLUSTER SHARDS` waits for ``releaseShards()``.
    private var holdsShards = false
    private var heldShards: [CheckedContinuation<Void, Never>] = []

    /// A cluster of `count` nodes that share the slots evenly, in order.
    init(count: Int = 3) {
        let nodes = (0..<count).map { RedisClusterNode(host: "node\($0)", port: 7000 + $0) }
        self.nodes = nodes
        self.owners = (0..<RedisClusterKeySlot.count).map { nodes[$0 * count / RedisClusterKeySlot.count] }
    }

    func owner(ofSlot slot: Int) -> RedisClusterNode {
        self.owners[slot]
    }

    /// Moves `slot` and its keys to `node`, as a finished migration does, without telling anyone.
    func move(slot: Int, to node: RedisClusterNode) {
        let from = self.owners[slot]
        for (key, value) in self.stores[from, default: [:]] where RedisClusterKeySlot.slot(forKey: key) == slot {
            self.stores[from]?[key] = nil
            self.stores[node, default: [:]][key] = value
        }
        self.owners[slot] = node
    }

    /// Starts migrating `slot` to `node`; `keys` are already there.
    func migrate(slot: Int, to node: RedisClusterNode, keys: [String]) {
        let from = self.owners[slot]
        self.migrating[slot] = (from, node)
        for key in keys {
            self.stores[node, default: [:]][key] = self.stores[from]?[key]
            self.stores[from]?[key] = nil
        }
    }

    func setRefusesShards(_ refuses: Bool) {
        self.refusesShards = refuses
    }

    /// Makes `CLUSTER SHARDS` wait until ``releaseShards()``.
    func holdShards() {
        self.holdsShards = true
    }

    func releaseShards() {
        self.holdsShards = false
        let held = self.heldShards
        self.heldShards = []
        for continuation in held {
            continuation.resume()
        }
    }

    func setUnreachable(_ node: RedisClusterNode) {
        self.unreachable.insert(node)
    }

    /// Fails over the node that owns `key`'s slot: another node takes every slot it owned,
    /// keys included, and it can no longer be reached. Returns the lost node and its heir.
    func failOver(ownerOf key: String) -> (lost: RedisClusterNode, heir: RedisClusterNode)? {
        let lost = self.owner(ofSlot: RedisClusterKeySlot.slot(forKey: key))
        guard let heir = self.nodes.first(where: { $0 != lost }) else { return nil }
        for slot in 0..<RedisClusterKeySlot.count where self.owners[slot] == lost {
            self.move(slot: slot, to: heir)
        }
        self.setUnreachable(lost)
        return (lost, heir)
    }

    /// Makes the next `times` key commands, on any node, be refused with `line` (such as
    /// `CLUSTERDOWN The cluster is down`) without running.
    func refuse(with line: String, times: Int) {
        self.refusals += Array(repeating: line, count: times)
    }

    /// Makes `node` answer every key command with `MOVED` to `target`.
    func bounce(_ node: RedisClusterNode, to target: RedisClusterNode) {
        self.bouncing[node] = target
    }

    func value(of key: String, on node: RedisClusterNode) -> String? {
        self.stores[node]?[key]
    }

    func calls(of command: String) -> [Call] {
        self.calls.filter { $0.commands.contains(command) }
    }

    func pipeline(_ commands: [RESPCommand], asking: Bool, on node: RedisClusterNode) async throws -> [Result<RESPToken, RedisClientError>] {
        self.calls.append(Call(node: node, commands: commands.flatMap { $0.arguments.map(Self.text) }, asking: asking))
        guard !self.unreachable.contains(node) else {
            throw RedisClientError(.connectFailed, message: "\(node) could not be reached")
        }
        if self.holdsShards, commands.contains(RESPCommand("CLUSTER", "SHARDS")) {
            await withCheckedContinuation { self.heldShards.append($0) }
        }
        return commands.map { self.execute($0, asking: asking, on: node) }
    }

    func close() async {}

    private func execute(_ command: RESPCommand, asking: Bool, on node: RedisClusterNode) -> Result<RESPToken, RedisClientError> {
        let arguments = command.arguments.map(Self.text)
        switch arguments.first?.uppercased() {
        case "CLUSTER" where arguments.dropFirst().first == "SHARDS":
            return self.refusesShards ? Self.error("ERR unknown subcommand 'SHARDS'. Try CLUSTER HELP.") : .success(Self.token(self.shardsReply()))
        case "CLUSTER" where arguments.dropFirst().first == "SLOTS":
            return .success(Self.token(self.slotsReply()))
        case "GET" where arguments.count == 2, "SET" where arguments.count == 3:
            let key = arguments[1]
            let slot = RedisClusterKeySlot.slot(forKey: key)
            if !self.refusals.isEmpty { return Self.error(self.refusals.removeFirst()) }
            if let target = self.bouncing[node] { return Self.error("MOVED \(slot) \(target)") }
            let owner = self.owners[slot]
            if owner != node {
                guard asking, self.migrating[slot]?.to == node else { return Self.error("MOVED \(slot) \(owner)") }
            } else if let migration = self.migrating[slot], self.stores[node]?[key] == nil {
                return Self.error("ASK \(slot) \(migration.to)")
            }
            if arguments[0].uppercased() == "SET" {
                self.stores[node, default: [:]][key] = arguments[2]
                return .success(Self.token(.simpleString("OK")))
            }
            return .success(Self.token(self.stores[node]?[key].map { .bulkString(ByteBuffer(string: $0)) } ?? .null))
        case "PING":
            return .success(Self.token(.simpleString("PONG")))
        default:
            return Self.error("ERR unknown command")
        }
    }

    /// The slot ranges of each node, in slot order.
    private func ranges() -> [(node: RedisClusterNode, ranges: [ClosedRange<Int>])] {
        var result: [(node: RedisClusterNode, ranges: [ClosedRange<Int>])] = self.nodes.map { ($0, []) }
        var start = 0
        for slot in 1...RedisClusterKeySlot.count {
            guard slot == RedisClusterKeySlot.count || self.owners[slot] != self.owners[start] else { continue }
            if let index = self.nodes.firstIndex(of: self.owners[start]) { result[index].ranges.append(start...slot - 1) }
            start = slot
        }
        return result
    }

    private func shardsReply() -> RESPValue {
        .array(
            self.ranges().map { entry in
                .map([
                    .init(.bulkString(ByteBuffer(string: "slots")), .array(entry.ranges.flatMap { [RESPValue.integer(Int64($0.lowerBound)), .integer(Int64($0.upperBound))] })),
                    .init(
                        .bulkString(ByteBuffer(string: "nodes")),
                        .array([
                            .map([
                                .init(.bulkString(ByteBuffer(string: "port")), .integer(Int64(entry.node.port))),
                                .init(.bulkString(ByteBuffer(string: "endpoint")), .bulkString(ByteBuffer(string: entry.node.host))),
                                .init(.bulkString(ByteBuffer(string: "role")), .bulkString(ByteBuffer(string: "master"))),
                                .init(.bulkString(ByteBuffer(string: "health")), .bulkString(ByteBuffer(string: "online"))),
                            ])
                        ])
                    ),
                ])
            }
        )
    }

    private func slotsReply() -> RESPValue {
        .array(
            self.ranges().flatMap { entry in
                entry.ranges.map { range in
                    .array([
                        .integer(Int64(range.lowerBound)), .integer(Int64(range.upperBound)),
                        .array([.bulkString(ByteBuffer(string: entry.node.host)), .integer(Int64(entry.node.port))]),
                    ])
                }
            }
        )
    }

    private static func text(_ argument: RESPCommand.Argument) -> String {
        switch argument {
        case .string(let text): text
        case .bytes(let bytes): String(buffer: bytes)
        case .integer(let value): String(value)
        }
    }

    private static func error(_ message: String) -> Result<RESPToken, RedisClientError> {
        .failure(RedisClientError(.commandError, message: message))
    }

    private static func token(_ value: RESPValue) -> RESPToken {
        var buffer = ByteBuffer()
        value.encode(into: &buffer)
        // A value this fake encoded itself always scans.
        return try! RESPToken(consuming: &buffer)!
    }
}
