import HeraldGateway
import ServiceLifecycle

import Foundation

/// On a gateway-only cluster node, which has no API to print it: the ready line, once the
/// gateway listens. Then waits for shutdown.
struct GatewayReadyService: Service {
    var settings: ServeSettings
    var gateway: Gateway

    func run() async throws {
        let bound = try await self.gateway.waitUntilBound()
        let host = self.settings.host
        print("herald ready node=\(self.settings.nodeID) tcp=\(host):\(bound.tcpPort) ws=\(host):\(bound.webSocketPort)")
        fflush(nil)
        try? await gracefulShutdown()
    }
}
