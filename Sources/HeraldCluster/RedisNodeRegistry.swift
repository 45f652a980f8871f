import HeraldCore
import HeraldRESP
import HeraldRedis
import NIOCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The ``NodeRegistry`` of a cluster, in Redis (a single server or a Redis Cluster).
///
/// A lease is one key per node, written by a script that reads the previous lease first, so
/// that the renewal learns whether it was still there and never overwrites another process's
/// (docs/architecture.md, "One node per id"); Redis's clock (the clock of the primary that
/// holds the leases, on a cluster) decides when it lapses. Every lease shares one hash tag,
/// so that listing them is one `MGET` after reading the set of their nodes. Loads are one
/// hash per app, a field per node.
public struct RedisNodeRegistry: NodeRegistry {
    private let executor: any RedisCommandExecutor
    private let keys: RedisClusterKeys

    /// A registry on one Redis server; `namespace` prefixes every key.
    public init(client: RedisClient, namespace: String = "herald") {
        self.init(executor: client, namespace: namespace)
    }

    /// A registry on a Redis Cluster; `namespace` prefixes every key.
    public init(cluster: RedisClusterClient, namespace: String = "herald") {
        self.init(executor: cluster, namespace: namespace)
    }

    init(executor: any RedisCommandExecutor, namespace: String) {
        self.executor = executor
        self.keys = RedisClusterKeys(namespace: namespace)
    }

    // KEYS[1]: the node's lease, KEYS[2]: the set of nodes. ARGV: the lease, its ttl in
    // milliseconds, its incarnation, the node. Writes the lease unless the current one is
    // another process's; answers 0 (there was none), 1 (renewed) or 2 and the other lease.
    static let renewScript = RedisScript(
        """
        local old = redis.call('GET', KEYS[1])
        if old then
          local ok, lease = pcall(cjson.decode, old)
          if not ok or type(lease) ~= 'table' or lease['incarnation'] ~= ARGV[3] then
            return {2, old}
          end
        end
        redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
        redis.call('SADD', KEYS[2], ARGV[4])
        if old then
          return {1}
        end
        return {0}
        """
    )

    // KEYS[1]: the node's lease, KEYS[2]: the set of nodes. ARGV: the node, and the
    // incarnation whose lease alone is removed ('' for any).
    static let withdrawScript = RedisScript(
        """
        local old = redis.call('GET', KEYS[1])
        if old and ARGV[2] ~= '' then
          local ok, lease = pcall(cjson.decode, old)
          if not ok or type(lease) ~= 'table' or lease['incarnation'] ~= ARGV[2] then
            return 0
          end
        end
        redis.call('DEL', KEYS[1])
        redis.call('SREM', KEYS[2], ARGV[1])
        return 1
        """
    )

    public func renew(_ lease: NodeLease, ttl: Duration) async throws -> NodeRenewal {
        let value = try JSONEncoder().encode(lease)
        let milliseconds = max(1, ttl.components.seconds * 1000 + ttl.components.attoseconds / 1_000_000_000_000_000)
        let reply = try await self.executor.run(
            .script(
                Self.renewScript,
                keys: [self.keys.lease(lease.node), self.keys.leaseMembers],
                arguments: [
                    .string(String(decoding: value, as: UTF8.self)), .integer(milliseconds), .string(lease.incarnation),
                    .string(lease.node),
                ]))
        guard let elements = reply.elements?.tokens, let outcome = elements.first?.integer else {
            throw RedisClusterStateError(operation: "renewing a lease")
        }
        switch outcome {
        case 0:
            return .lapsed
        case 1:
            return .renewed
        default:
            guard elements.count > 1, let bytes = elements[1].bytes,
                let holder = try? JSONDecoder().decode(NodeLease.self, from: Data(bytes.readableBytesView))
            else { throw RedisClusterStateError(operation: "reading the lease of another process") }
            return .taken(by: holder)
        }
    }

    public func liveNodes() async throws -> [NodeLease] {
        let members = try await self.executor.run(.command(RESPCommand("SMEMBERS", .string(self.keys.leaseMembers)), keyAt: 1))
        guard let nodes = members.elements?.tokens.compactMap(\.string) else {
            throw RedisClusterStateError(operation: "listing the nodes")
        }
        guard !nodes.isEmpty else { return [] }
        let reply = try await self.executor.run(
            .command(RESPCommand("MGET", arguments: nodes.map { .string(self.keys.lease($0)) }), keyAt: 1))
        guard let values = reply.elements else { throw RedisClusterStateError(operation: "reading the leases") }
        let decoder = JSONDecoder()
        return try values.compactMap { value in
            // A lapsed lease reads as null: its node is not live.
            guard let bytes = value.bytes else { return nil }
            do {
                return try decoder.decode(NodeLease.self, from: Data(bytes.readableBytesView))
            } catch {
                throw RedisClusterStateError(operation: "reading the leases")
            }
        }
    }

    public func withdraw(node: String, incarnation: String?) async throws {
        _ = try await self.executor.run(
            .script(
                Self.withdrawScript, keys: [self.keys.lease(node), self.keys.leaseMembers],
                arguments: [.string(node), .string(incarnation ?? "")]))
    }

    public func recordLoad(node: String, apps: [String: SessionCounts]) async throws {
        let operations: [RedisOperation] = apps.map { app, counts in
            let key = self.keys.load(app: app)
            if counts.sessions == 0 && counts.users == 0 {
                return .command(RESPCommand("HDEL", .string(key), .string(node)), keyAt: 1)
            }
            return .command(RESPCommand("HSET", .string(key), .string(node), .string("\(counts.sessions) \(counts.users)")), keyAt: 1)
        }
        for result in try await self.executor.run(operations) { _ = try result.get() }
    }

    public func load(app: String) async throws -> [String: SessionCounts] {
        let reply = try await self.executor.run(.command(RESPCommand("HGETALL", .string(self.keys.load(app: app))), keyAt: 1))
        guard let fields = reply.map else { throw RedisClusterStateError(operation: "reading an app's load") }
        var load: [String: SessionCounts] = [:]
        for (field, value) in fields {
            let counts = value.string?.split(separator: " ").compactMap { Int($0) } ?? []
            guard let node = field.string, counts.count == 2 else { throw RedisClusterStateError(operation: "reading an app's load") }
            load[node] = SessionCounts(sessions: counts[0], users: counts[1])
        }
        return load
    }
}
