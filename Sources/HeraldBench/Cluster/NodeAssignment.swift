/// Which node each connection of one pool goes to, in a run spread over a cluster.
public struct NodeAssignment: Sendable, Codable, Hashable {
    /// The nodes, each once.
    public var endpoints: [BenchEndpoint]
    /// Connection `i` of the pool goes to `endpoints[Int(indexes[i])]`.
    public var indexes: [UInt8]

    /// Creates an assignment; every index must name one of `endpoints`.
    public init(endpoints: [BenchEndpoint], indexes: [UInt8]) {
        self.endpoints = endpoints
        self.indexes = indexes
    }

    /// Why the assignment cannot serve a pool of `connections`, if it cannot.
    public func problem(connections: Int) -> String? {
        if self.endpoints.isEmpty { return "a node assignment names no node" }
        if self.indexes.count != connections {
            return "a node assignment covers \(self.indexes.count) connections, not the pool's \(connections)"
        }
        if let bad = self.indexes.first(where: { Int($0) >= self.endpoints.count }) {
            return "a node assignment names node \(bad) of \(self.endpoints.count)"
        }
        return nil
    }
}
