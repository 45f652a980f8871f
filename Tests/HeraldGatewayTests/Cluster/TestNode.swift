import HeraldCore
import HeraldTestUtils

@testable import HeraldGateway

/// One node of a ``TestCluster``: a real gateway on loopback with the cluster runtime.
struct TestNode {
    var id: String
    var gateway: Gateway
    var delivery: ClusterDelivery<Gateway>
    var receiver: ClusterBusReceiver<Gateway>
    var membership: ClusterMembership<Gateway>
    var liveNodes: LiveNodes
    var apps: AppRegistry
    var addresses: BoundAddresses

    /// A client on this node, authenticated as `user` on `device`.
    func client(user: String, device: String = "phone") async throws -> RawClient {
        let client = try await RawClient.connect(.tcp, host: "127.0.0.1", port: self.addresses.tcpPort)
        try await client.auth(token: Fixtures.token(user: user, device: device))
        return client
    }
}
