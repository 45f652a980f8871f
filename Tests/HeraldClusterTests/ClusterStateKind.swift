import Testing

/// An implementation of the cluster ports the contract suite runs against.
enum ClusterStateKind: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case memory
    /// The single Redis `scripts/test` starts.
    case redis
    /// The three-master Redis Cluster `scripts/test` starts.
    case redisCluster

    var testDescription: String { self.rawValue }
}
