/// Where each shard channel of a ``RedisShardSubscriber`` is subscribed, and what to do on each
/// event: which primary to send `SSUBSCRIBE` to, when to read the slot map again, and what to
/// report to the caller.
///
/// It never touches a connection. Each event returns the ``Action``s that the subscriber
/// carries out, so that every path (a slot that moved, a `MOVED` answer, a lost primary, a
/// cluster with no owner for a slot) is tested by feeding it events. Channels are only ever
/// added: each one it was given is, at any time, subscribed at a primary, on its way there, or
/// waiting for a slot map that names its primary.
struct RedisShardSubscriberStateMachine: Sendable {
    /// One `SSUBSCRIBE` on its way: the channel, and a number that tells its answer from the
    /// answer of an earlier attempt for the same channel.
    struct Ticket: Hashable, Sendable {
        var channel: String
        var number: Int
    }

    /// What the subscriber must do after an event.
    enum Action: Hashable, Sendable {
        /// Send `SSUBSCRIBE` to `node` for each ticket's channel, one command each: shard
        /// channels of different slots cannot share one.
        case subscribe([Ticket], at: RedisClusterNode)
        /// Read the slot map: the cluster client's copy, or, when `fresh`, from the cluster,
        /// asking the nodes in `avoiding` (just lost) last. An `attempt` above zero waits first,
        /// by the backoff after attempt `attempt - 1`: the earlier reads did not settle it.
        case readMap(attempt: Int, fresh: Bool, avoiding: Set<RedisClusterNode>)
        /// Tell the caller: ``RedisSubscriberEvent/disconnected(_:)`` when a channel is no longer
        /// subscribed anywhere, ``RedisSubscriberEvent/reconnected`` once every one is again.
        case report(RedisSubscriberEvent)
    }

    private enum Placement: Hashable {
        /// Waiting for a slot map that names the channel's primary.
        case unplaced
        /// `SSUBSCRIBE` sent to the node, not answered yet.
        case subscribing(RedisClusterNode, ticket: Int)
        /// Confirmed by the node.
        case subscribed(RedisClusterNode)

        var node: RedisClusterNode? {
            switch self {
            case .unplaced: nil
            case .subscribing(let node, _), .subscribed(let node): node
            }
        }
    }

    private struct Entry {
        var placement: Placement
        /// `MOVED` answers followed since the channel was last placed by the map.
        var redirects = 0
    }

    private let maximumRedirects: Int
    private var entries: [String: Entry] = [:]
    private var map: RedisClusterSlotMap?
    private var isReadingMap = false
    /// Reads of the map since every channel was last subscribed: the backoff's attempt.
    private var mapReads = 0
    /// Nodes whose connection was lost since the last read of the map.
    private var lostNodes: Set<RedisClusterNode> = []
    /// Whether ``RedisSubscriberEvent/disconnected(_:)`` was reported and not yet followed by
    /// ``RedisSubscriberEvent/reconnected``.
    private var isDown = false
    private var nextTicket = 0

    /// A machine that follows at most `maximumRedirects` `MOVED` answers in a row for a channel
    /// before it reads the map again instead.
    init(maximumRedirects: Int = 5) {
        self.maximumRedirects = maximumRedirects
    }

    // MARK: What it knows

    /// Every channel it was given.
    var channels: Set<String> {
        Set(self.entries.keys)
    }

    /// Whether every one of `channels` is known and confirmed by its primary.
    func isSubscribed(_ channels: some Sequence<String>) -> Bool {
        channels.allSatisfy { channel in
            guard case .subscribed? = self.entries[channel]?.placement else { return false }
            return true
        }
    }

    /// The node `channel` is subscribed at, once confirmed.
    func node(of channel: String) -> RedisClusterNode? {
        guard case .subscribed(let node)? = self.entries[channel]?.placement else { return nil }
        return node
    }

    /// The nodes a connection is needed to: those holding or about to hold a subscription.
    var nodes: Set<RedisClusterNode> {
        Set(self.entries.values.compactMap(\.placement.node))
    }

    // MARK: Events

    /// The caller listens to `channels` as well.
    mutating func subscribe(_ channels: some Sequence<String>) -> [Action] {
        for channel in channels where self.entries[channel] == nil {
            self.entries[channel] = Entry(placement: .unplaced)
        }
        return self.place()
    }

    /// A slot map was read.
    mutating func mapRead(_ map: RedisClusterSlotMap) -> [Action] {
        self.map = map
        self.isReadingMap = false
        self.lostNodes = []
        return self.place()
    }

    /// The slot map could not be read: try again, by the backoff.
    mutating func mapReadFailed(_ error: RedisClientError) -> [Action] {
        self.isReadingMap = false
        return self.goDown(error) + self.readMap(fresh: true)
    }

    /// `node` confirmed the subscription of `ticket`.
    mutating func subscribed(_ ticket: Ticket, at node: RedisClusterNode) -> [Action] {
        guard self.entries[ticket.channel]?.placement == .subscribing(node, ticket: ticket.number) else { return [] }
        self.entries[ticket.channel] = Entry(placement: .subscribed(node))
        return self.settle()
    }

    /// `ticket`'s `SSUBSCRIBE` failed at `node`: redirected (`MOVED`), refused (`CLUSTERDOWN`,
    /// an error), or its connection failed.
    mutating func subscribeFailed(_ ticket: Ticket, at node: RedisClusterNode, error: RedisClientError) -> [Action] {
        guard let entry = self.entries[ticket.channel], entry.placement == .subscribing(node, ticket: ticket.number)
        else { return [] }
        guard error.code == .commandError else { return self.connectionLost(node, error: error) }
        if let redirect = RedisClusterRedirect(error, origin: node), redirect.kind == .moved,
            entry.redirects < self.maximumRedirects
        {
            // The slot has a new owner, named in the answer: go there at once.
            self.map?.assign(slot: redirect.slot, to: redirect.node)
            let next = self.ticket(for: ticket.channel)
            self.entries[ticket.channel] = Entry(
                placement: .subscribing(redirect.node, ticket: next.number), redirects: entry.redirects + 1)
            return [.subscribe([next], at: redirect.node)]
        }
        // Anything else (the cluster is down for the slot, the slot migrates, the command is
        // refused) is waited out: the map is read again by the backoff, then the channel placed.
        self.entries[ticket.channel] = Entry(placement: .unplaced)
        return self.goDown(error) + self.readMap(fresh: true)
    }

    /// The connection to `node` was lost, or could not be made: its channels are placed again
    /// by a fresh map (the node may have failed over to its replica).
    mutating func connectionLost(_ node: RedisClusterNode, error: RedisClientError) -> [Action] {
        var lost = false
        for (channel, entry) in self.entries where entry.placement.node == node {
            self.entries[channel] = Entry(placement: .unplaced)
            lost = true
        }
        guard lost else { return [] }
        self.lostNodes.insert(node)
        return self.goDown(error) + self.readMap(fresh: true)
    }

    /// `node` sent `sunsubscribe` for `channel` unprompted: the slot moved away from it (a
    /// reshard, or the node became a replica). The channel is placed again by a fresh map.
    mutating func subscriptionEnded(_ channel: String, at node: RedisClusterNode) -> [Action] {
        guard let entry = self.entries[channel], entry.placement.node == node else { return [] }
        self.entries[channel] = Entry(placement: .unplaced)
        let error = RedisClientError(
            .subscriptionEnded, message: "\(node) no longer serves the slot of the shard channel \(channel)")
        return self.goDown(error) + self.readMap(fresh: true)
    }

    // MARK: Decisions

    /// Sends each channel waiting for a primary to the one the map names; reads the map when
    /// there is none, or when it names none for a channel.
    private mutating func place() -> [Action] {
        let waiting = self.entries.filter { $0.value.placement == .unplaced }.keys.sorted()
        guard !waiting.isEmpty else { return self.settle() }
        // A read under way places them when it lands.
        guard !self.isReadingMap else { return [] }
        guard let map = self.map else { return self.readMap(fresh: false) }
        var batches: [RedisClusterNode: [Ticket]] = [:]
        var unserved: [String] = []
        for channel in waiting {
            guard let node = map.primary(forSlot: RedisClusterKeySlot.slot(forKey: channel)) else {
                unserved.append(channel)
                continue
            }
            let ticket = self.ticket(for: channel)
            self.entries[channel] = Entry(placement: .subscribing(node, ticket: ticket.number))
            batches[node, default: []].append(ticket)
        }
        var actions: [Action] = []
        if let channel = unserved.first {
            actions += self.goDown(
                RedisClientError(.slotNotServed, message: "no primary serves the slot of the shard channel \(channel)"))
        }
        actions += batches.sorted { $0.key.description < $1.key.description }.map {
            Action.subscribe($0.value, at: $0.key)
        }
        if !unserved.isEmpty {
            actions += self.readMap(fresh: true)
        }
        return actions
    }

    /// Once every channel is subscribed: the backoff starts again, and a reported loss is over.
    private mutating func settle() -> [Action] {
        guard self.entries.values.allSatisfy({ if case .subscribed = $0.placement { true } else { false } }) else {
            return []
        }
        self.mapReads = 0
        guard self.isDown else { return [] }
        self.isDown = false
        return [.report(.reconnected)]
    }

    private mutating func goDown(_ error: RedisClientError) -> [Action] {
        guard !self.isDown else { return [] }
        self.isDown = true
        return [.report(.disconnected(error))]
    }

    /// One read of the map at a time; each one until every channel is subscribed waits longer.
    private mutating func readMap(fresh: Bool) -> [Action] {
        guard !self.isReadingMap else { return [] }
        self.isReadingMap = true
        defer { self.mapReads += 1 }
        return [.readMap(attempt: self.mapReads, fresh: fresh, avoiding: self.lostNodes)]
    }

    private mutating func ticket(for channel: String) -> Ticket {
        self.nextTicket += 1
        return Ticket(channel: channel, number: self.nextTicket)
    }
}
