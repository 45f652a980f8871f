/// How a run spread over a cluster: the clients each node held, and the share of the
/// deliveries asked for that another node than the one whose API took the push made.
public struct ClusterFigures: Sendable, Codable, Hashable {
    /// One node's share.
    public struct Node: Sendable, Codable, Hashable {
        /// The node's id.
        public var node: String
        /// Its client TCP endpoint, `host:port`.
        public var endpoint: String
        /// Clients sent to it by dispatch.
        public var clients: Int
        /// Whether pushes went to its API.
        public var takesPushes: Bool

        /// Creates a node's figures.
        public init(node: String, endpoint: String, clients: Int, takesPushes: Bool) {
            self.node = node
            self.endpoint = endpoint
            self.clients = clients
            self.takesPushes = takesPushes
        }
    }

    /// The nodes that hold clients, ordered by node id.
    public var nodes: [Node]
    /// The node ids of the APIs the pushes went to, in the order of `--api`; nil where not known.
    public var apiNodes: [String?]
    /// Deliveries the measured pushes asked for (a message to one user: one; a broadcast: one
    /// per client); nil when the scenario pushes nothing or the APIs' nodes are not known.
    public var deliveries: Int?
    /// Of those, the ones another node than the API's made.
    public var crossNode: Int?

    /// Creates the figures.
    public init(nodes: [Node], apiNodes: [String?], deliveries: Int? = nil, crossNode: Int? = nil) {
        self.nodes = nodes
        self.apiNodes = apiNodes
        self.deliveries = deliveries
        self.crossNode = crossNode
    }

    /// The figures of `layout`, with what `counts` tallied (nil when nothing was pushed, or the
    /// APIs' nodes are not known, so crossings cannot be told).
    public init(layout: ClusterLayout, counts: CrossNodeTally.Counts?) {
        let clients = layout.clientsPerNode
        let pushing = Set(layout.apiNodes.compactMap { $0 })
        self.nodes = layout.endpoints.enumerated().map { index, endpoint in
            Node(
                node: endpoint.node, endpoint: endpoint.tcpAddress, clients: clients[index],
                takesPushes: pushing.contains(index))
        }
        self.apiNodes = layout.apiNodeIDs
        if let counts, counts.deliveries > 0, layout.knowsAPINodes {
            self.deliveries = counts.deliveries
            self.crossNode = counts.crossing
        } else {
            self.deliveries = nil
            self.crossNode = nil
        }
    }

    /// The share of deliveries that crossed nodes, 0 to 1, when it is known.
    public var crossNodeShare: Double? {
        guard let deliveries, let crossNode, deliveries > 0 else { return nil }
        return Double(crossNode) / Double(deliveries)
    }

    /// "a 6,334 (API), b 6,301, c 6,365" for the report's table.
    public var clientsText: String {
        self.nodes.map { node in
            "\(node.node) \(Format.count(node.clients))" + (node.takesPushes ? " (API)" : "")
        }.joined(separator: ", ")
    }

    /// "66.7% (12,345 of 18,500 deliveries)", or why it is not known.
    public var crossNodeText: String {
        guard let share = self.crossNodeShare, let crossNode, let deliveries else {
            if self.apiNodes.contains(where: { $0 == nil }) {
                return "not known: give --admin-key, so that the bench can ask each API for its node"
            }
            return "none pushed"
        }
        return "\(Format.fixed(share * 100, 1))% (\(Format.count(crossNode)) of \(Format.count(deliveries)) deliveries)"
    }
}
