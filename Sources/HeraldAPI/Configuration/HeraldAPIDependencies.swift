import HeraldCore
import Prometheus

/// The ports and shared objects the API works with.
public struct HeraldAPIDependencies: Sendable {
    /// The key admin endpoints require as `Authorization: Bearer <key>`.
    public var adminKey: String
    /// Where apps are stored.
    public var catalog: any AppCatalog
    /// The node's in-memory snapshot of apps; the API adds every app it creates.
    public var apps: AppRegistry
    /// Where QoS 1 messages, the broadcast log and dead letters are kept.
    public var store: any MessageStore
    /// How messages reach connections.
    public var delivery: any PushDelivery
    /// Who is online.
    public var directory: any SessionLookup
    /// The registry `/metrics` renders; the API's own counters are made in it.
    public var metrics: PrometheusCollectorRegistry
    /// Whether the node is ready to serve (`/readyz`).
    public var isReady: @Sendable () -> Bool
    /// The node's connections, sessions and memory for `GET /v1/stats`; called per request.
    public var nodeStats: @Sendable () -> NodeStats

    /// Creates the dependencies.
    public init(
        adminKey: String,
        catalog: any AppCatalog,
        apps: AppRegistry,
        store: any MessageStore,
        delivery: any PushDelivery,
        directory: any SessionLookup,
        metrics: PrometheusCollectorRegistry,
        isReady: @escaping @Sendable () -> Bool,
        nodeStats: @escaping @Sendable () -> NodeStats = { NodeStats() }
    ) {
        self.adminKey = adminKey
        self.catalog = catalog
        self.apps = apps
        self.store = store
        self.delivery = delivery
        self.directory = directory
        self.metrics = metrics
        self.isReady = isReady
        self.nodeStats = nodeStats
    }
}
