import HeraldCore
import HeraldRESP
import HeraldRedis

/// The ``SessionDirectory`` of a cluster, in Redis (a single server or a Redis Cluster).
///
/// Each user has one hash, a field per device holding its session and a counter for the
/// order; a Lua script makes a session the holder and answers the one it displaced, another
/// removes a session only while it still holds its device. Each node has a set of its
/// sessions, written in the same pipeline, from which ``removeSessions(ofNode:)`` and
/// ``restore(node:sessions:)`` work. docs/architecture.md, "Cluster state in Redis", has the
/// layout and the costs.
public struct RedisSessionDirectory: SessionDirectory {
    private let executor: any RedisCommandExecutor
    private let keys: RedisClusterKeys

    /// A directory on one Redis server; `namespace` prefixes every key.
    public init(client: RedisClient, namespace: String = "herald") {
        self.init(executor: client, namespace: namespace)
    }

    /// A directory on a Redis Cluster; `namespace` prefixes every key.
    public init(cluster: RedisClusterClient, namespace: String = "herald") {
        self.init(executor: cluster, namespace: namespace)
    }

    init(executor: any RedisCommandExecutor, namespace: String) {
        self.executor = executor
        self.keys = RedisClusterKeys(namespace: namespace)
    }

    // KEYS[1]: the user's hash. ARGV: the device's field, the session's identity, its start,
    // and '1' to restore (which leaves a device another session took meanwhile to it).
    // Answers the order, then the displaced holder's value if there was one.
    static let registerScript = RedisScript(
        """
        local old = redis.call('HGET', KEYS[1], ARGV[1])
        if old then
          if string.sub(old, 1, #ARGV[2] + 1) == ARGV[2] .. ' ' then
            return {string.match(old, '(%d+)$')}
          end
          if ARGV[4] == '1' then
            return {'0', old}
          end
        end
        local order = redis.call('HINCRBY', KEYS[1], '#', 1)
        redis.call('HSET', KEYS[1], ARGV[1], ARGV[2] .. ' ' .. ARGV[3] .. ' ' .. order)
        if old then
          return {order, old}
        end
        return {order}
        """
    )

    // KEYS[1]: the user's hash. ARGV: the device's field, the session's identity. Deletes the
    // field only if the session still holds it, and the hash once only the counter is left.
    static let unregisterScript = RedisScript(
        """
        local old = redis.call('HGET', KEYS[1], ARGV[1])
        if not old or string.sub(old, 1, #ARGV[2] + 1) ~= ARGV[2] .. ' ' then
          return 0
        end
        redis.call('HDEL', KEYS[1], ARGV[1])
        if redis.call('HLEN', KEYS[1]) <= 1 then
          redis.call('DEL', KEYS[1])
        end
        return 1
        """
    )

    public func register(_ sessions: [SessionInfo]) async throws -> [Result<SessionRegistration, any Error>] {
        guard !sessions.isEmpty else { return [] }
        var operations: [RedisOperation] = []
        operations.reserveCapacity(2 * sessions.count)
        for session in sessions {
            operations.append(self.registerOperation(session, restoring: false))
            operations.append(
                .command(
                    RESPCommand("SADD", .string(self.keys.nodeSessions(session.node)), .string(RedisSessionRecord.member(session))),
                    keyAt: 1))
        }
        let results = try await self.executor.run(operations)
        guard results.count == operations.count else { throw RedisClusterStateError(operation: "registering sessions") }
        return sessions.enumerated().map { offset, session in
            Result {
                let registration = try Self.registration(try results[2 * offset].get(), of: session)
                _ = try results[2 * offset + 1].get()
                return registration
            }
        }
    }

    public func unregister(_ sessions: [SessionInfo]) async throws {
        guard !sessions.isEmpty else { return }
        var operations: [RedisOperation] = []
        operations.reserveCapacity(2 * sessions.count)
        for session in sessions {
            operations.append(self.unregisterOperation(session))
            operations.append(
                .command(
                    RESPCommand("SREM", .string(self.keys.nodeSessions(session.node)), .string(RedisSessionRecord.member(session))),
                    keyAt: 1))
        }
        for result in try await self.executor.run(operations) { _ = try result.get() }
    }

    public func sessions(app: String, users: [String], liveNodes: Set<ByteString>) async throws -> [[SessionInfo]] {
        guard !users.isEmpty else { return [] }
        let results = try await self.executor.run(
            users.map { .command(RESPCommand("HGETALL", .string(self.keys.user(app: app, user: $0))), keyAt: 1) })
        return try zip(users, results).map { user, result in
            guard let fields = try result.get().map else { throw RedisClusterStateError(operation: "reading a user's sessions") }
            var sessions: [SessionInfo] = []
            for (field, value) in fields {
                guard let field = field.string, let device = RedisSessionRecord.device(field: field) else { continue }
                guard let value = value.string,
                    let session = RedisSessionRecord.session(value: value, app: app, user: user, device: device)
                else { throw RedisClusterStateError(operation: "reading a user's sessions") }
                if liveNodes.contains(ByteString(session.node)) { sessions.append(session) }
            }
            return sessions.sorted { $0.order < $1.order }
        }
    }

    public func restore(node: String, sessions: [SessionInfo]) async throws {
        let nodeKey = self.keys.nodeSessions(node)
        let recorded = try await self.members(of: node)
        let kept = Set(sessions.map(RedisSessionRecord.member))
        var operations: [RedisOperation] = []
        for member in recorded where !kept.contains(member) {
            if let stale = RedisSessionRecord.session(member: member) { operations.append(self.unregisterOperation(stale)) }
            operations.append(.command(RESPCommand("SREM", .string(nodeKey), .string(member)), keyAt: 1))
        }
        let restoring = sessions.sorted { $0.order < $1.order }
        let firstRestore = operations.count
        for session in restoring {
            operations.append(self.registerOperation(session, restoring: true))
            operations.append(.command(RESPCommand("SADD", .string(nodeKey), .string(RedisSessionRecord.member(session))), keyAt: 1))
        }
        let results = try await self.executor.run(operations)
        for result in results { _ = try result.get() }
        // A device another session took while this node was away stays with that session.
        var lost: [RESPCommand.Argument] = []
        for (offset, session) in restoring.enumerated() {
            let reply = try results[firstRestore + 2 * offset].get()
            if reply.elements?.tokens.first?.integer == 0 { lost.append(.string(RedisSessionRecord.member(session))) }
        }
        if !lost.isEmpty {
            _ = try await self.executor.run(.command(RESPCommand("SREM", arguments: [.string(nodeKey)] + lost), keyAt: 1))
        }
    }

    public func removeSessions(ofNode node: String) async throws -> Int {
        let nodeKey = self.keys.nodeSessions(node)
        let members = try await self.members(of: node)
        guard !members.isEmpty else { return 0 }
        let operations = members.compactMap(RedisSessionRecord.session(member:)).map(self.unregisterOperation)
        let results = try await self.executor.run(
            operations + [.command(RESPCommand("SREM", arguments: [.string(nodeKey)] + members.map { .string($0) }), keyAt: 1)])
        var removed = 0
        for result in results.dropLast() where try result.get().integer == 1 { removed += 1 }
        _ = try results.last?.get()
        return removed
    }

    // MARK: Internals

    private func registerOperation(_ session: SessionInfo, restoring: Bool) -> RedisOperation {
        .script(
            Self.registerScript,
            keys: [self.keys.user(app: session.app, user: session.user)],
            arguments: [
                .string(RedisSessionRecord.field(device: session.device)), .string(RedisSessionRecord.token(session.id)),
                .integer(session.since.millisecondsSince1970), restoring ? "1" : "0",
            ])
    }

    private func unregisterOperation(_ session: SessionInfo) -> RedisOperation {
        .script(
            Self.unregisterScript,
            keys: [self.keys.user(app: session.app, user: session.user)],
            arguments: [.string(RedisSessionRecord.field(device: session.device)), .string(RedisSessionRecord.token(session.id))])
    }

    private func members(of node: String) async throws -> [String] {
        let reply = try await self.executor.run(.command(RESPCommand("SMEMBERS", .string(self.keys.nodeSessions(node))), keyAt: 1))
        guard let elements = reply.elements else { throw RedisClusterStateError(operation: "reading a node's sessions") }
        return try elements.map { element in
            guard let member = element.string else { throw RedisClusterStateError(operation: "reading a node's sessions") }
            return member
        }
    }

    private static func registration(_ reply: RESPToken, of session: SessionInfo) throws -> SessionRegistration {
        guard let elements = reply.elements?.tokens, let first = elements.first, let order = first.integer, order >= 0 else {
            throw RedisClusterStateError(operation: "registering a session")
        }
        guard elements.count > 1 else { return SessionRegistration(order: UInt64(order), displaced: nil) }
        guard let value = elements[1].string,
            let displaced = RedisSessionRecord.session(value: value, app: session.app, user: session.user, device: session.device)
        else { throw RedisClusterStateError(operation: "registering a session") }
        return SessionRegistration(order: UInt64(order), displaced: displaced)
    }
}
