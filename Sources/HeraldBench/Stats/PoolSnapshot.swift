import HeraldWire
import Histogram

/// What a ``BenchClientPool`` has seen since it started: counters, and push latencies by kind.
///
/// Counters are totals since the pool was made (``open`` is the only gauge). Latencies are in
/// microseconds, from the stamp in each ``BenchPayload`` to its arrival, since the last
/// ``BenchClientPool/resetLatencies()``. Snapshots of several pools or agents add up with
/// ``merge(_:)``. The counters are read and written as if they were the snapshot's own
/// (`snapshot.authenticated`), and encode into the same flat JSON object.
@dynamicMemberLookup
public struct PoolSnapshot: Sendable, Codable {
    /// Connection and frame counters.
    public var counters: ClientCounters
    /// Push latency in microseconds by kind, for pushes that carry a ``BenchPayload`` stamp.
    public var latency: [String: Histogram<UInt64>]
    /// Wall clock (nanoseconds since 1970) of the newest push received; 0 if none.
    public var lastArrivalNanos: UInt64

    /// An empty snapshot.
    public init() {
        self.counters = ClientCounters()
        self.latency = [:]
        self.lastArrivalNanos = 0
    }

    public subscript<Value>(dynamicMember keyPath: WritableKeyPath<ClientCounters, Value>) -> Value {
        get { self.counters[keyPath: keyPath] }
        set { self.counters[keyPath: keyPath] = newValue }
    }

    /// The name of a push kind in ``pushes`` and ``latency``.
    public static func name(of kind: PushKind) -> String {
        switch kind {
        case .user: "user"
        case .broadcast: "broadcast"
        case .topic: "topic"
        }
    }

    /// Pushes of every kind.
    public var totalPushes: Int { self.pushes.values.reduce(0, +) }

    /// Adds `other` into this snapshot: counters add up, histograms merge, the newest arrival wins.
    public mutating func merge(_ other: PoolSnapshot) {
        self.counters.merge(other.counters)
        for (kind, histogram) in other.latency {
            if self.latency[kind] == nil {
                self.latency[kind] = histogram
            } else {
                LatencyHistogram.merge(histogram, into: &self.latency[kind, default: LatencyHistogram.make()])
            }
        }
        self.lastArrivalNanos = max(self.lastArrivalNanos, other.lastArrivalNanos)
    }

    // MARK: Codable

    private enum CodingKeys: String, CodingKey {
        case latency, lastArrivalNanos
    }

    public init(from decoder: any Decoder) throws {
        self.counters = try ClientCounters(from: decoder)
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let sparse = try container.decodeIfPresent([String: SparseHistogram].self, forKey: .latency) ?? [:]
        self.latency = sparse.mapValues(\.histogram)
        self.lastArrivalNanos = try container.decodeIfPresent(UInt64.self, forKey: .lastArrivalNanos) ?? 0
    }

    public func encode(to encoder: any Encoder) throws {
        try self.counters.encode(to: encoder)
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(self.latency.mapValues(SparseHistogram.init), forKey: .latency)
        try container.encode(self.lastArrivalNanos, forKey: .lastArrivalNanos)
    }
}
