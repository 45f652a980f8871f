import Testing

/// The cluster suites, one after another: each starts three nodes (and some their own Redis
/// servers), and side by side they would crowd the machine's cores and the PostgreSQL that the
/// store suites run against at the same time.
@Suite("Cluster end to end", .serialized)
enum ClusterEndToEnd {}
