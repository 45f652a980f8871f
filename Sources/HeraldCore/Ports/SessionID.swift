/// A session's identity across the cluster: the node, the connection on it and the session
/// number on that connection, with the gateway's generation to tell apart a number reused
/// on the same connection. Unlike a timestamp, it survives a trip through Redis unchanged.
public struct SessionID: Sendable, Hashable, CustomStringConvertible {
    /// The node that holds the connection.
    public var node: String
    /// The connection's number on that node.
    public var connection: UInt64
    /// The session number on the connection (AUTH_OK's).
    public var number: UInt16
    /// The gateway's session generation on that node (grows with every session opened).
    public var generation: UInt64

    public init(node: String, connection: UInt64, number: UInt16, generation: UInt64) {
        self.node = node
        self.connection = connection
        self.number = number
        self.generation = generation
    }

    public var description: String {
        "session \(self.number) of connection \(self.connection) on node \(self.node)"
    }

    /// By bytes for the node id, as every index of ids (``ByteString``).
    public static func == (lhs: SessionID, rhs: SessionID) -> Bool {
        lhs.connection == rhs.connection && lhs.number == rhs.number && lhs.generation == rhs.generation
            && ByteString.same(lhs.node, rhs.node)
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(ByteString(self.node))
        hasher.combine(self.connection)
        hasher.combine(self.number)
        hasher.combine(self.generation)
    }
}
