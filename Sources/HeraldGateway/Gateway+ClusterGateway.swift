import HeraldCore
import HeraldWire
import NIOCore

/// What a cluster node's runtime asks of its gateway: end one session by its identity, list
/// the sessions (to restore the shared directory), send every client away while the node is
/// cut off, and count sessions per app. Nothing here keeps state per connection.
extension Gateway: ClusterGateway {
    /// The gateway's connections and sessions now.
    public var clientCounts: (connections: Int, sessions: Int) {
        let stats = self.stats
        return (stats.connections, stats.sessions)
    }

    /// Ends the session `id` with GOAWAY `reason` (`replaced` or `kicked`); false if this node
    /// no longer holds it.
    public func endSession(_ id: SessionID, reason: GoAwayReason) async -> Bool {
        guard ByteString.same(id.node, self.nodeID) else { return false }
        let ended = await self.everyShard {
            $0.endSession(connection: id.connection, number: id.number, generation: id.generation, reason: reason)
        }
        return ended.contains(true)
    }

    /// Every session of this node, open or opening.
    public func localSessions() async -> [SessionInfo] {
        let node = self.nodeID
        return await self.everyShard { $0.allSessions(node: node) }.joined().sorted { $0.order < $1.order }
    }

    /// Each app's sessions and distinct users on this node; apps without sessions are left out.
    public func appCounts() async -> [String: SessionCounts] {
        let perShard = await self.everyShard { $0.onlineCountsByApp() }
        var merged: [ByteString: [(sessions: Int, users: Set<ByteString>)]] = [:]
        for shard in perShard {
            for (app, counts) in shard { merged[app, default: []].append(counts) }
        }
        var counts: [String: SessionCounts] = [:]
        for (app, shards) in merged {
            counts[app.string] = Self.merge(shards)
        }
        return counts
    }

    /// Whether clients are being sent away (``drainClients()``).
    public var isDrainingClients: Bool {
        self.environment.isDrainingClients
    }

    /// Sends every client GOAWAY `draining` and closes its connection, and does the same to
    /// every new connection until ``serveClients()``; the listeners stay open, so a node
    /// that serves again needs no restart. Returns once the connections closed, or after the
    /// drain timeout.
    public func drainClients() async {
        self.environment.isDrainingClients = true
        // Set first: a connection accepted from now on is refused at activation, and one
        // accepted before is on its loop's list when that loop runs the drain.
        await self.drainShards()
    }

    /// Takes new clients again after ``drainClients()``.
    public func serveClients() {
        self.environment.isDrainingClients = false
    }
}
