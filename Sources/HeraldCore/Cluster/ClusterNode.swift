import ServiceLifecycle

/// Runs what a cluster node does in the background besides renewing its lease: writes its
/// sessions to the directory (``ClusterObserver``) and runs what the bus brings
/// (``ClusterBusReceiver``). Put it before the gateway in the service group, so that it
/// still records the sessions the gateway ends while it drains.
public struct ClusterNode<Gateway: ClusterGateway>: Service {
    private let gateway: Gateway
    private let observer: ClusterObserver
    private let receiver: ClusterBusReceiver<Gateway>

    /// Creates the service.
    public init(gateway: Gateway, observer: ClusterObserver, receiver: ClusterBusReceiver<Gateway>) {
        self.gateway = gateway
        self.observer = observer
        self.receiver = receiver
    }

    /// Runs both until graceful shutdown or cancellation.
    public func run() async throws {
        let gateway = self.gateway
        let observer = self.observer
        let receiver = self.receiver
        await cancelWhenGracefulShutdown {
            await withDiscardingTaskGroup { group in
                group.addTask { await observer.run(gateway: gateway) }
                group.addTask { await receiver.run() }
            }
        }
    }
}
