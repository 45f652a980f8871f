import HeraldCore
import HeraldGateway
import Logging
import ServiceLifecycle

/// Runs the node's ``ClusterMembership`` once its gateway listens, so that the lease carries
/// the real client endpoints (an API-only node's lease has none).
struct ClusterLeaseService: Service {
    var settings: ServeSettings
    var gateway: Gateway
    var ports: ClusterPorts
    var liveNodes: LiveNodes
    /// The incarnation the node claimed its id with.
    var incarnation: String
    var logger: Logger

    func run() async throws {
        let endpoints = self.settings.runsGateway
            ? self.settings.clientEndpoints(try await self.gateway.waitUntilBound()) : nil
        let membership = ClusterMembership(
            gateway: self.gateway,
            registry: self.ports.registry,
            directory: self.ports.directory,
            liveNodes: self.liveNodes,
            configuration: .init(
                roles: self.settings.roles,
                tcpEndpoint: endpoints?.tcp,
                webSocketEndpoint: endpoints?.webSocket,
                maxConnections: self.settings.maxConnections,
                leaseTTL: .milliseconds(Int64(self.settings.leaseTTL * 1000)),
                incarnation: self.incarnation
            ),
            logger: self.logger
        )
        try await membership.run()
    }
}
