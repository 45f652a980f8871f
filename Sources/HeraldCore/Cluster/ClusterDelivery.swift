import Logging
import NIOCore

/// A cluster node's ``PushDelivery`` and ``SessionLookup``: this node's share goes through
/// its gateway, the rest over the ``MessageBus`` to the nodes that hold the sessions.
///
/// User messages look up all their users in the directory at once and publish one bus
/// message per other node per request, with only that node's users, all in one round trip;
/// the hand-over to this node's loops runs meanwhile. Broadcasts and topic messages go out
/// locally and as one message to every node, at the same time. Nothing waits for another node.
///
/// The session counts it returns are those of docs/architecture.md ("Counts in a cluster"):
/// the sessions written on this node plus those the directory lists on other live nodes; for
/// a broadcast, the other nodes' last recorded load of the app; for a topic message, this
/// node's subscribers only (no node records another's topic subscriptions).
public struct ClusterDelivery<Gateway: ClusterGateway>: PushDelivery, SessionLookup {
    private let gateway: Gateway
    private let directory: any SessionDirectory
    private let bus: any MessageBus
    private let registry: any NodeRegistry
    private let liveNodes: LiveNodes
    private let logger: Logger

    /// Creates the delivery of the node `gateway` serves.
    public init(
        gateway: Gateway,
        directory: any SessionDirectory,
        bus: any MessageBus,
        registry: any NodeRegistry,
        liveNodes: LiveNodes,
        logger: Logger
    ) {
        self.gateway = gateway
        self.directory = directory
        self.bus = bus
        self.registry = registry
        self.liveNodes = liveNodes
        self.logger = logger
    }

    private var node: String { self.gateway.nodeID }

    // MARK: PushDelivery

    /// Writes to the users' sessions here and hands the rest to their nodes: a batch of one.
    public func sendToUsers(app: String, users: [String], payload: ByteBuffer) async -> Int {
        await self.sendUserMessages(app: app, [.live(users: users, payload: payload)]).first ?? 0
    }

    /// Writes a stored message to the users' sessions here and hands the rest to their nodes,
    /// each user's copy with its own sequence: a batch of one.
    public func sendStored(app: String, deliveries: [UserSequence], payload: ByteBuffer) async -> Int {
        await self.sendUserMessages(app: app, [.stored(deliveries: deliveries, payload: payload)]).first ?? 0
    }

    /// One directory lookup for every user of the batch and one bus message per other node,
    /// carrying, in order, the messages with users there (each with only those users).
    public func sendUserMessages(app: String, _ messages: [UserDelivery]) async -> [Int] {
        // The hand-over to this node's loops may wait for a running fan-out pass; the
        // directory's round trip need not wait for it.
        async let handedOver = self.gateway.sendUserMessages(app: app, messages)
        var users: [String] = []
        for message in messages {
            switch message {
            case .live(let listed, _): users.append(contentsOf: listed)
            case .stored(let deliveries, _): users.append(contentsOf: deliveries.lazy.map(\.user))
            }
        }
        let remote = await self.remoteSessions(app: app, users: users)
        var publications: [BusPublication] = []
        for (node, nodeUsers) in remote.usersByNode {
            let held = Set(nodeUsers.map { ByteString($0) })
            let share: [UserDelivery] = messages.compactMap { message in
                switch message {
                case .live(let listed, let payload):
                    let kept = listed.filter { held.contains(ByteString($0)) }
                    return kept.isEmpty ? nil : .live(users: kept, payload: payload)
                case .stored(let deliveries, let payload):
                    let kept = deliveries.filter { held.contains(ByteString($0.user)) }
                    return kept.isEmpty ? nil : .stored(deliveries: kept, payload: payload)
                }
            }
            publications.append(self.publication(.userMessages(app: app, share), to: .node(node.string)))
        }
        if !remote.usersByNode.isEmpty {
            self.logger.debug(
                "Users' messages went to the other nodes that hold their sessions.",
                metadata: [
                    "app": "\(app)",
                    "nodes": "\(remote.usersByNode.map { "\($0.key.string) (\($0.value.count) users)" }.sorted().joined(separator: ", "))",
                ])
        }
        await self.send(publications)
        var local = await handedOver
        for (index, message) in messages.enumerated() where index < local.count {
            switch message {
            case .live(let listed, _): local[index] += remote.count(listed)
            case .stored(let deliveries, _): local[index] += deliveries.reduce(0) { $0 + remote.count(of: $1.user) }
            }
        }
        return local
    }

    /// Queues the broadcast here and sends it to every other node, at the same time: the
    /// hand-over here may wait for a running fan-out pass, and the other nodes need not.
    public func broadcast(app: String, seq: UInt32, payload: ByteBuffer) async -> Int {
        async let local = self.gateway.broadcast(app: app, seq: seq, payload: payload)
        async let others = self.otherNodesLoad(app: app)
        await self.send([self.publication(.broadcast(app: app, seq: seq, payload: payload), to: .all)])
        return await local + others.sessions
    }

    /// Queues the topic message here and sends it to every other node; counts this node's
    /// subscribers.
    public func publish(app: String, topic: String, payload: ByteBuffer) async -> Int {
        async let local = self.gateway.publish(app: app, topic: topic, payload: payload)
        await self.send([self.publication(.topic(app: app, topic: topic, payload: payload), to: .all)])
        return await local
    }

    /// Ends the user's sessions here and asks the other nodes that hold some to do the same.
    public func kick(app: String, user: String, device: String?) async -> Int {
        let local = await self.gateway.kick(app: app, user: user, device: device)
        let remote = await self.remoteSessions(app: app, users: [user])
        var count = 0
        var nodes: [String] = []
        for session in remote.sessions[ByteString(user)] ?? [] {
            guard device.map({ ByteString.same($0, session.device) }) ?? true else { continue }
            count += 1
            if !nodes.contains(where: { ByteString.same($0, session.node) }) { nodes.append(session.node) }
        }
        await self.send(nodes.map { self.publication(.kick(app: app, user: user, device: device), to: .node($0)) })
        return local + count
    }

    // MARK: SessionLookup

    /// The user's sessions on every live node, from the directory, oldest first.
    public func sessions(app: String, user: String) async throws -> [SessionInfo] {
        let found = try await self.directory.sessions(app: app, users: [user], liveNodes: self.liveIDs())
        return found.first ?? []
    }

    /// This node's counts plus the other live nodes' last recorded ones. A user online on
    /// two nodes counts on each.
    public func counts(app: String) async throws -> SessionCounts {
        let local = try await self.gateway.counts(app: app)
        let others = await self.otherNodesLoad(app: app)
        return SessionCounts(sessions: local.sessions + others.sessions, users: local.users + others.users)
    }

    // MARK: Private

    /// A message from this node for `target`.
    private func publication(_ body: BusMessage.Body, to target: BusTarget) -> BusPublication {
        BusPublication(BusMessage(origin: self.node, body: body), to: target)
    }

    /// The live nodes' ids, with this node's even before its first renewal.
    private func liveIDs() -> Set<ByteString> {
        var ids = self.liveNodes.ids
        ids.insert(ByteString(self.node))
        return ids
    }

    /// The users' sessions on the other live nodes; none if the directory cannot answer
    /// (then only this node's sessions get the message, and clients of QoS 1 messages
    /// replay them from the store when they reconnect).
    private func remoteSessions(app: String, users: [String]) async -> RemoteSessions {
        var seen = Set<ByteString>()
        let distinct = users.filter { seen.insert(ByteString($0)).inserted }
        var live = self.liveNodes.ids
        live.remove(ByteString(self.node))
        guard !distinct.isEmpty, !live.isEmpty else { return RemoteSessions() }
        do {
            let found = try await self.directory.sessions(app: app, users: distinct, liveNodes: live)
            var remote = RemoteSessions()
            for (user, sessions) in zip(distinct, found) {
                let others = sessions.filter { !ByteString.same($0.node, self.node) }
                guard !others.isEmpty else { continue }
                remote.sessions[ByteString(user)] = others
                var nodes = Set<ByteString>()
                for session in others where nodes.insert(ByteString(session.node)).inserted {
                    remote.usersByNode[ByteString(session.node), default: []].append(user)
                }
            }
            return remote
        } catch {
            self.logger.warning(
                "The session directory could not be read; the message went to this node's sessions only.",
                metadata: ["app": "\(app)", "error": "\(error)"]
            )
            return RemoteSessions()
        }
    }

    /// The other live nodes' last recorded counts for `app`, added up.
    private func otherNodesLoad(app: String) async -> SessionCounts {
        var live = self.liveNodes.ids
        live.remove(ByteString(self.node))
        guard !live.isEmpty else { return SessionCounts(sessions: 0, users: 0) }
        do {
            let load = try await self.registry.load(app: app)
            var total = SessionCounts(sessions: 0, users: 0)
            for (node, counts) in load where live.contains(ByteString(node)) {
                total.sessions += counts.sessions
                total.users += counts.users
            }
            return total
        } catch {
            self.logger.debug("The nodes' load could not be read.", metadata: ["app": "\(app)", "error": "\(error)"])
            return SessionCounts(sessions: 0, users: 0)
        }
    }

    /// Publishes in one round trip; a failure is logged (the bus delivers at most once).
    private func send(_ publications: [BusPublication]) async {
        guard !publications.isEmpty else { return }
        do {
            try await self.bus.publish(publications)
        } catch {
            self.logger.warning(
                "A message for other nodes could not be published on the bus.",
                metadata: ["targets": "\(publications.map(\.target.description).joined(separator: ", "))", "error": "\(error)"]
            )
        }
    }
}
