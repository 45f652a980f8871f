/// A connection within one ``EventLoopShard``.
struct ConnectionID: Hashable, Sendable {
    var rawValue: UInt64

    /// No connection: the shard numbers connections from 1.
    static let none = ConnectionID(rawValue: 0)
}
