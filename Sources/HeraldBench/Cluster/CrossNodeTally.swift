import NIOConcurrencyHelpers

/// Counts, as the pushes are sent, the deliveries they ask for and how many of those another
/// node than the one whose API took the push makes (so the message crossed the bus).
///
/// Counted on the sending side from the layout, not on the clients: the clients count what
/// arrived, and the report says when fewer arrived than were asked for.
public final class CrossNodeTally: Sendable {
    /// Deliveries asked for, and how many of them cross nodes.
    public struct Counts: Sendable, Hashable {
        public var deliveries: Int
        public var crossing: Int

        /// Creates counts.
        public init(deliveries: Int = 0, crossing: Int = 0) {
            self.deliveries = deliveries
            self.crossing = crossing
        }

        /// The share of deliveries that cross nodes, 0 when there were none.
        public var share: Double {
            self.deliveries > 0 ? Double(self.crossing) / Double(self.deliveries) : 0
        }
    }

    /// Where the clients are.
    public let layout: ClusterLayout
    private let crossingPerBroadcast: [Int]
    private let counts = NIOLockedValueBox(Counts())

    /// A tally over `layout`.
    public init(layout: ClusterLayout) {
        self.layout = layout
        self.crossingPerBroadcast = layout.apiNodes.indices.map { layout.crossingDeliveries(ofBroadcastThrough: $0) }
    }

    /// Counts a request through API `api` with one message to each of `users`.
    public func countMessages(to users: some Sequence<Int>, through api: Int) {
        var added = Counts()
        for user in users {
            added.deliveries += 1
            if self.layout.crossesNodes(user: user, api: api) { added.crossing += 1 }
        }
        self.add(added)
    }

    /// Counts a broadcast through API `api` to every client.
    public func countBroadcast(through api: Int) {
        let crossing =
            api < self.crossingPerBroadcast.count ? self.crossingPerBroadcast[api] : self.layout.nodeOfUser.count
        self.add(Counts(deliveries: self.layout.nodeOfUser.count, crossing: crossing))
    }

    /// What was counted so far.
    public var current: Counts {
        self.counts.withLockedValue { $0 }
    }

    /// Starts counting again from zero (after a warm-up, say).
    public func reset() {
        self.counts.withLockedValue { $0 = Counts() }
    }

    private func add(_ added: Counts) {
        self.counts.withLockedValue { counts in
            counts.deliveries += added.deliveries
            counts.crossing += added.crossing
        }
    }
}
