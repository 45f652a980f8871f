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
    /// In a cluster, the gateways `/v1/dispatch` offers a user (nil when the request names
    /// none), best first; nil on a single node, which offers its configured endpoints.
    public var dispatch: (@Sendable (_ user: String?) -> [DispatchEndpoint])?
    /// Called once an app was created, changed or deleted, to tell the other nodes.
    public var appChanged: @Sendable (_ app: String) async -> Void

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
        nodeStats: @escaping @Sendable () -> NodeStats = { NodeStats() },
        dispatch: (@Sendable (_ user: String?) -> [DispatchEndpoint])? = nil,
        appChanged: @escaping @Sendable (_ app: String) async -> Void = { _ in }
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
        self.dispatch = dispatch
        self.appChanged = appChanged
    }
}
