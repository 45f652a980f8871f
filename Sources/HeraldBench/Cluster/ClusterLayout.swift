/// Where a run spread over a cluster put its clients: each user on the node `GET /v1/dispatch`
/// names first for it, as a device would connect, and which node each API belongs to.
public struct ClusterLayout: Sendable, Codable, Hashable {
    /// The nodes that hold clients, ordered by node id.
    public var endpoints: [BenchEndpoint]
    /// User `i`'s node, an index into ``endpoints``.
    public var nodeOfUser: [UInt8]
    /// The node of each API the pushes go to (in the order of `--api`), an index into
    /// ``endpoints``; nil when the API's node is not known (no admin key to ask it) or holds
    /// no clients.
    public var apiNodes: [Int?]
    /// The node id of each API, when known.
    public var apiNodeIDs: [String?]

    /// The most nodes a layout can tell apart.
    public static let maximumNodes = 255

    /// The layout of users `0..<dispatched.count`, user `i` on `dispatched[i]` (the first
    /// endpoint of its dispatch answer), with the pushes going to APIs of nodes `apiNodeIDs`.
    ///
    /// Endpoints are told apart by node id; two answers naming one node with different
    /// addresses are a mistake of the cluster's and refused.
    public static func spread(dispatched: [BenchEndpoint], apiNodeIDs: [String?]) throws(BenchError) -> ClusterLayout {
        var byNode: [String: BenchEndpoint] = [:]
        for endpoint in dispatched {
            if let known = byNode[endpoint.node] {
                guard known == endpoint else {
                    throw BenchError(
                        "dispatch named node \(endpoint.node) at both \(known.tcpAddress) and \(endpoint.tcpAddress)")
                }
            } else {
                byNode[endpoint.node] = endpoint
            }
        }
        guard byNode.count <= Self.maximumNodes else {
            throw BenchError("dispatch named \(byNode.count) nodes; the bench tells at most \(Self.maximumNodes) apart")
        }
        let endpoints = byNode.values.sorted { $0.node < $1.node }
        var position: [String: UInt8] = [:]
        for (index, endpoint) in endpoints.enumerated() { position[endpoint.node] = UInt8(index) }
        let nodeOfUser = dispatched.map { position[$0.node] ?? 0 }
        let apiNodes = apiNodeIDs.map { id in id.flatMap { position[$0] }.map(Int.init) }
        return ClusterLayout(endpoints: endpoints, nodeOfUser: nodeOfUser, apiNodes: apiNodes, apiNodeIDs: apiNodeIDs)
    }

    /// Creates a layout from its parts.
    public init(endpoints: [BenchEndpoint], nodeOfUser: [UInt8], apiNodes: [Int?], apiNodeIDs: [String?]) {
        self.endpoints = endpoints
        self.nodeOfUser = nodeOfUser
        self.apiNodes = apiNodes
        self.apiNodeIDs = apiNodeIDs
    }

    /// How many clients each node of ``endpoints`` holds.
    public var clientsPerNode: [Int] {
        var counts = [Int](repeating: 0, count: self.endpoints.count)
        for node in self.nodeOfUser { counts[Int(node)] += 1 }
        return counts
    }

    /// Whether every API's node is known, so that crossings can be counted.
    public var knowsAPINodes: Bool {
        !self.apiNodeIDs.isEmpty && self.apiNodeIDs.allSatisfy { $0 != nil }
    }

    /// The assignment of a pool whose connections are users `firstUser ..< firstUser + count`.
    public func assignment(firstUser: Int, count: Int) -> NodeAssignment {
        let end = min(self.nodeOfUser.count, firstUser + count)
        let start = min(firstUser, end)
        return NodeAssignment(endpoints: self.endpoints, indexes: Array(self.nodeOfUser[start..<end]))
    }

    /// Whether a push to `user` through API `api` is delivered by another node than the one
    /// that took it (an API whose node holds no clients: always).
    public func crossesNodes(user: Int, api: Int) -> Bool {
        guard api < self.apiNodes.count, let node = self.apiNodes[api] else { return true }
        return user >= self.nodeOfUser.count || Int(self.nodeOfUser[user]) != node
    }

    /// Of one broadcast through API `api` to every client, the deliveries made by other nodes
    /// than the one that took it.
    public func crossingDeliveries(ofBroadcastThrough api: Int) -> Int {
        guard api < self.apiNodes.count, let node = self.apiNodes[api] else { return self.nodeOfUser.count }
        return self.nodeOfUser.count - self.clientsPerNode[node]
    }
}
