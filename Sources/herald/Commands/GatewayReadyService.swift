import HeraldGateway
import ServiceLifecycle

import Foundation

/// On a gateway-only cluster node, which has no API to print it: the ready line, once the
/// gateway listens. Then waits for shutdown.
struct GatewayReadyService: Service {
    var settings: ServeSettings
    var gateway: Gateway

    func run() async throws {
        print(self.settings.readyLine(bound: try await self.gateway.waitUntilBound(), apiPort: nil))
        fflush(nil)
        try? await gracefulShutdown()
    }
}
