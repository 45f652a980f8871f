import Logging

/// Claims a node's id for this process before the node serves: one process holds an id at a
/// time (docs/architecture.md, "One node per id").
///
/// A current lease of the id with another incarnation is either a process that died without
/// withdrawing it (kill -9; its lease lapses within its time) or a second live node (which
/// renews it every third of its time, changing it). The claim waits to see which: it takes
/// the id once the lease lapses, and refuses with ``NodeIDInUseError`` if the lease changes
/// meanwhile. Once it holds the id it forgets the sessions the directory still records for
/// it, which were the dead process's.
public struct NodeIDClaim: Sendable {
    private let registry: any NodeRegistry
    private let directory: any SessionDirectory
    private let lease: NodeLease
    private let leaseTTL: Duration
    private let logger: Logger

    /// - Parameters:
    ///   - lease: the lease to write, with this process's incarnation; it may say `draining`
    ///     and carry no endpoints, since the node's first renewal replaces it.
    ///   - leaseTTL: how long the lease lasts without renewal.
    public init(
        registry: any NodeRegistry, directory: any SessionDirectory, lease: NodeLease, leaseTTL: Duration,
        logger: Logger
    ) {
        self.registry = registry
        self.directory = directory
        self.lease = lease
        self.leaseTTL = leaseTTL
        self.logger = logger
    }

    /// Returns once the process holds the id; throws ``NodeIDInUseError`` if another running
    /// node holds it. A registry it cannot reach is asked again until it answers.
    public func run() async throws {
        // A tenth of the lease: a holder renews every third, so its renewal is seen soon.
        let poll = max(self.leaseTTL / 10, .milliseconds(10))
        var previous: NodeLease?
        while true {
            let renewal: NodeRenewal
            do {
                renewal = try await self.registry.renew(self.lease, ttl: self.leaseTTL)
            } catch {
                self.logger.warning(
                    "The node could not reach the registry to claim its id; it tries again.",
                    metadata: ["node": "\(self.lease.node)", "error": "\(error)"])
                try await Task.sleep(for: max(poll, .seconds(1)))
                continue
            }
            switch renewal {
            case .renewed, .lapsed:
                if previous != nil {
                    self.logger.notice(
                        "The node waited for the lease a stopped process left on its id to lapse; it holds the id now.",
                        metadata: ["node": "\(self.lease.node)"])
                }
                await self.forgetPreviousSessions()
                return
            case .taken(let holder):
                if let previous, previous != holder {
                    throw NodeIDInUseError(node: self.lease.node, moment: .atStart)
                }
                if previous == nil {
                    self.logger.info(
                        "Another process holds this node's id; the node waits for its lease to lapse and refuses to start if it is renewed.",
                        metadata: ["node": "\(self.lease.node)"])
                }
                previous = holder
                try await Task.sleep(for: poll)
            }
        }
    }

    private func forgetPreviousSessions() async {
        do {
            let removed = try await self.directory.removeSessions(ofNode: self.lease.node)
            if removed > 0 {
                self.logger.info(
                    "The sessions a previous process of this node left in the directory were removed.",
                    metadata: ["node": "\(self.lease.node)", "sessions": "\(removed)"])
            }
        } catch {
            self.logger.warning(
                "The sessions a previous process of this node left in the directory could not be removed.",
                metadata: ["node": "\(self.lease.node)", "error": "\(error)"])
        }
    }
}
