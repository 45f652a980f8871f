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
/// A lease is one key per node, written with `SET … PX … GET` so that the renewal learns
/// whether the previous lease was still there; Redis's clock (the clock of the primary that
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

    public func renew(_ lease: NodeLease, ttl: Duration) async throws -> Bool {
        let value = try JSONEncoder().encode(lease)
        let milliseconds = max(1, ttl.components.seconds * 1000 + ttl.components.attoseconds / 1_000_000_000_000_000)
        let results = try await self.executor.run([
            .command(
                RESPCommand(
                    "SET", .string(self.keys.lease(lease.node)), .string(String(decoding: value, as: UTF8.self)),
                    "PX", .integer(milliseconds), "GET"),
                keyAt: 1),
            .command(RESPCommand("SADD", .string(self.keys.leaseMembers), .string(lease.node)), keyAt: 1),
        ])
        guard results.count == 2 else { throw RedisClusterStateError(operation: "renewing a lease") }
        let previous = try results[0].get()
        _ = try results[1].get()
        return !previous.isNull
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

    public func withdraw(node: String) async throws {
        let results = try await self.executor.run([
            .command(RESPCommand("DEL", .string(self.keys.lease(node))), keyAt: 1),
            .command(RESPCommand("SREM", .string(self.keys.leaseMembers), .string(node)), keyAt: 1),
        ])
        for result in results { _ = try result.get() }
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
