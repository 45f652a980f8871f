import Logging
import ServiceLifecycle

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Keeps a node in the cluster: renews its lease every third of the lease's time with its
/// load, records its sessions per app, keeps ``LiveNodes`` current and forgets the sessions
/// of nodes whose lease lapsed.
///
/// A node that cannot renew for longer than its lease is dead to the others, so it sends its
/// clients away (GOAWAY `draining`; they reconnect to a live node) rather than serve as a
/// ghost nobody delivers to; once it renews again it takes clients again. A renewal that
/// finds the lease lapsed (the registry lost it, or the node was cut off) restores the
/// node's sessions in the directory. A renewal that finds the lease held by another process
/// (given the same node id) does not fight over it: ``run()`` throws ``NodeIDInUseError``,
/// which stops the node. On graceful shutdown the lease says `draining` at once, so dispatch
/// stops offering the node while its gateway drains; the node then withdraws the lease
/// (``NodeRegistry/withdraw(node:incarnation:)``) once the gateway is done.
public struct ClusterMembership<Gateway: ClusterGateway>: Service {
    /// What the node's lease says about it besides its load.
    public struct Configuration: Sendable {
        public var roles: NodeLease.Roles
        public var tcpEndpoint: String?
        public var webSocketEndpoint: String?
        public var maxConnections: Int
        /// How long a lease lasts without renewal.
        public var leaseTTL: Duration
        /// The process's ``NodeLease/incarnation``, the one it claimed the id with
        /// (``NodeIDClaim``).
        public var incarnation: String

        /// Creates a configuration.
        public init(
            roles: NodeLease.Roles,
            tcpEndpoint: String?,
            webSocketEndpoint: String?,
            maxConnections: Int,
            leaseTTL: Duration,
            incarnation: String = NodeLease.makeIncarnation()
        ) {
            self.roles = roles
            self.tcpEndpoint = tcpEndpoint
            self.webSocketEndpoint = webSocketEndpoint
            self.maxConnections = maxConnections
            self.leaseTTL = leaseTTL
            self.incarnation = incarnation
        }
    }

    /// What one renewal leaves for the next.
    struct State {
        var lastRenewal = ContinuousClock.now
        /// Whether the clients were sent away because the lease could not be renewed.
        var cutOff = false
        /// Nodes gone from the registry's list, and since when. Their sessions are cleared only
        /// once they have been gone for a whole lease: after a Redis restart every lease is
        /// missing until its node renews, and clearing at once would remove sessions a live node
        /// has just restored. (Answers leave out a node that is not live whatever is recorded.)
        var missing: [ByteString: Missing] = [:]
        /// The leases of this node's last view of the live nodes: the nodes it knew, so the
        /// next renewal can tell which went missing.
        var lastView: [NodeLease] = []
        /// The per-app counts last recorded.
        var recordedLoad: [String: SessionCounts] = [:]
        var cpu = ProcessCPU()
        /// How many times the lease was written.
        var renewals: UInt64 = 0
        /// The lease of the process that took the node's id, once a renewal found one.
        var takenBy: NodeLease?
    }

    /// A node gone from the registry's list of live nodes.
    struct Missing {
        /// The renewal that first found it gone.
        var since: ContinuousClock.Instant
        /// Its last lease, kept in this node's view until it renews or a lease has passed since
        /// it went, when it went at a renewal that found this node's own lease gone too (the
        /// registry lost every lease, as in a Redis restart, or this node was cut off): the other
        /// nodes have not renewed yet, and a view without them would miss their sessions for a
        /// renewal interval. Nil for a node gone while this node's lease held: its lease lapsed.
        var kept: NodeLease?
    }

    private let gateway: Gateway
    private let registry: any NodeRegistry
    private let directory: any SessionDirectory
    private let liveNodes: LiveNodes
    private let configuration: Configuration
    private let startedAt: Date
    private let logger: Logger

    /// Creates the membership of the node `gateway` serves.
    public init(
        gateway: Gateway,
        registry: any NodeRegistry,
        directory: any SessionDirectory,
        liveNodes: LiveNodes,
        configuration: Configuration,
        logger: Logger
    ) {
        self.gateway = gateway
        self.registry = registry
        self.directory = directory
        self.liveNodes = liveNodes
        self.configuration = configuration
        self.startedAt = Date()
        self.logger = logger
    }

    /// Renews until graceful shutdown, then marks the lease `draining`. Throws
    /// ``NodeIDInUseError`` once another process holds the node's id.
    public func run() async throws {
        var state = State()
        let interval = self.configuration.leaseTTL / 3
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            await self.renew(&state)
            if state.takenBy != nil {
                throw NodeIDInUseError(node: self.gateway.nodeID, moment: .whileServing)
            }
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
            } catch {
                break
            }
        }
        let draining = self.lease(.draining, state: &state)
        do {
            _ = try await self.registry.renew(draining, ttl: self.configuration.leaseTTL)
        } catch {
            self.logger.warning("The node's lease could not be marked draining.", metadata: ["error": "\(error)"])
        }
    }

    /// One renewal: the lease, the sessions if the registry lost them, the per-app load, the
    /// live nodes, and the cleanup of nodes that died since the last one.
    func renew(_ state: inout State) async {
        let wasCutOff = state.cutOff
        do {
            let lease = self.lease(wasCutOff ? .draining : .ready, state: &state)
            let renewal = try await self.registry.renew(lease, ttl: self.configuration.leaseTTL)
            if case .taken(let holder) = renewal {
                // Writing the lease back would fight the other process for the id, and both
                // would serve under it: this node stops instead.
                state.takenBy = holder
                self.logger.error(
                    "Another process took this node's id: its lease has another incarnation, so this node stops.",
                    metadata: ["node": "\(self.gateway.nodeID)", "holder": "\(holder.incarnation)"])
                return
            }
            state.lastRenewal = .now
            if wasCutOff {
                state.cutOff = false
                self.gateway.serveClients()
                self.logger.notice("The node renewed its lease again and takes clients again.")
                let ready = self.lease(.ready, state: &state)
                _ = try await self.registry.renew(ready, ttl: self.configuration.leaseTTL)
            }
            if renewal == .lapsed {
                try await self.directory.restore(node: self.gateway.nodeID, sessions: await self.gateway.localSessions())
                state.recordedLoad = [:]
            }
            try await self.recordLoad(&state)
            let live = try await self.registry.liveNodes()
            let now = ContinuousClock.now
            self.liveNodes.update(
                Self.view(
                    live: live, ownNode: self.gateway.nodeID, lapsed: renewal == .lapsed, now: now,
                    leaseTTL: self.configuration.leaseTTL, state: &state))
            for (node, missing) in state.missing where now - missing.since >= self.configuration.leaseTTL {
                let removed = try await self.directory.removeSessions(ofNode: node.string)
                state.missing[node] = nil
                self.logger.info(
                    "A node left the cluster a lease ago; its sessions were removed from the directory.",
                    metadata: ["node": "\(node.string)", "sessions": "\(removed)"]
                )
            }
        } catch {
            await self.renewalFailed(error, state: &state)
        }
    }

    /// Records which nodes the registry's `live` list lacks since when, and returns the view
    /// of the live nodes: the registry's leases plus those ``Missing/kept`` for less than a
    /// lease. A node that goes missing again before it renewed keeps its first instant, so
    /// repeated registry losses never keep a dead node longer than a lease.
    static func view(
        live: [NodeLease], ownNode: String, lapsed: Bool, now: ContinuousClock.Instant, leaseTTL: Duration,
        state: inout State
    ) -> [NodeLease] {
        let ids = Set(live.map { ByteString($0.node) })
        for node in ids { state.missing[node] = nil }
        // A node the last view had (kept ones included: they are still missing) that the
        // registry lacks now has gone missing at this renewal.
        for lease in state.lastView where !ids.contains(ByteString(lease.node)) && !ByteString.same(lease.node, ownNode) {
            let gone = ByteString(lease.node)
            guard state.missing[gone] == nil else { continue }
            state.missing[gone] = Missing(since: now, kept: lapsed ? lease : nil)
        }
        let kept = state.missing.values
            .filter { now - $0.since < leaseTTL }
            .compactMap(\.kept)
            .sorted { $0.node < $1.node }
        let view = live + kept
        state.lastView = view
        return view
    }

    private func renewalFailed(_ error: any Error, state: inout State) async {
        self.logger.warning("The node could not renew its lease.", metadata: ["error": "\(error)"])
        guard !state.cutOff, ContinuousClock.now - state.lastRenewal > self.configuration.leaseTTL else { return }
        state.cutOff = true
        self.logger.error(
            "The node's lease lapsed: it sends its clients to other nodes until it can renew again."
        )
        await self.gateway.drainClients()
    }

    /// Records the apps whose counts changed since the last time, zero for those now empty.
    private func recordLoad(_ state: inout State) async throws {
        let current = await self.gateway.appCounts()
        var changed: [String: SessionCounts] = [:]
        for (app, counts) in current where state.recordedLoad[app] != counts {
            changed[app] = counts
        }
        for app in state.recordedLoad.keys where current[app] == nil {
            changed[app] = SessionCounts(sessions: 0, users: 0)
        }
        guard !changed.isEmpty else { return }
        try await self.registry.recordLoad(node: self.gateway.nodeID, apps: changed)
        state.recordedLoad = current
    }

    /// The lease to write next: each one counts a renewal more, so that it always differs
    /// from the one before (``NodeIDClaim`` watches for that).
    private func lease(_ nodeState: NodeLease.State, state: inout State) -> NodeLease {
        let counts = self.gateway.clientCounts
        state.renewals += 1
        return NodeLease(
            node: self.gateway.nodeID,
            roles: self.configuration.roles,
            state: nodeState,
            tcpEndpoint: self.configuration.tcpEndpoint,
            webSocketEndpoint: self.configuration.webSocketEndpoint,
            maxConnections: self.configuration.maxConnections,
            connections: counts.connections,
            sessions: counts.sessions,
            cpu: state.cpu.sample(),
            startedAt: self.startedAt,
            incarnation: self.configuration.incarnation,
            renewal: state.renewals
        )
    }
}
