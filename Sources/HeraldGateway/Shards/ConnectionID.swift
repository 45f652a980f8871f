/// A connection within one ``EventLoopShard``.
struct ConnectionID: Hashable, Sendable {
    var rawValue: UInt64
}
