/// What one ``BenchClientPool`` opens and how its clients behave.
public struct ClientPlan: Sendable, Codable, Hashable {
    /// Connections in the pool, one session each.
    public var connections: Int
    /// Connection `i` is user `"\(userPrefix)\(firstUser + i)"`.
    public var firstUser: Int
    /// Prefix of user ids.
    public var userPrefix: String
    /// TCP or WebSocket.
    public var transport: BenchTransport
    /// Local addresses to bind, round-robin (`127.0.0.2`, ...); empty means any. Several source
    /// addresses spread connections over more ports and keep the accept path from stalling.
    public var sourceAddresses: [String]
    /// New connections per second for this pool; 0 means as fast as possible.
    public var connectRate: Double
    /// Seconds between PINGs; the interval the server asks for in AUTH_OK wins when shorter.
    /// 0 means the server's.
    public var heartbeatSeconds: Int
    /// Topics to SUBSCRIBE to after AUTH_OK.
    public var topics: [String]
    /// Whether to ACK pushes that carry ACK_REQUIRED (cumulatively, batched per loop tick).
    public var acknowledge: Bool
    /// In a run spread over a cluster, the node each connection goes to; nil: every connection
    /// goes to the target's endpoint.
    public var nodes: NodeAssignment?

    public init(
        connections: Int,
        firstUser: Int = 0,
        userPrefix: String = "u",
        transport: BenchTransport = .tcp,
        sourceAddresses: [String] = [],
        connectRate: Double = 0,
        heartbeatSeconds: Int = 30,
        topics: [String] = [],
        acknowledge: Bool = true,
        nodes: NodeAssignment? = nil
    ) {
        self.connections = connections
        self.firstUser = firstUser
        self.userPrefix = userPrefix
        self.transport = transport
        self.sourceAddresses = sourceAddresses
        self.connectRate = connectRate
        self.heartbeatSeconds = heartbeatSeconds
        self.topics = topics
        self.acknowledge = acknowledge
        self.nodes = nodes
    }

    /// The endpoints the connections go to: the assignment's, or the target's alone.
    public func endpoints(target: BenchTarget) -> [BenchEndpoint] {
        self.nodes?.endpoints ?? [BenchEndpoint(target)]
    }

    /// The index into ``endpoints(target:)`` of connection `index`'s endpoint.
    public func endpoint(at index: Int) -> Int {
        guard let nodes = self.nodes, index < nodes.indexes.count else { return 0 }
        return Int(nodes.indexes[index])
    }

    /// The user id of connection `index`.
    public func user(at index: Int) -> String {
        "\(self.userPrefix)\(self.firstUser + index)"
    }
}
