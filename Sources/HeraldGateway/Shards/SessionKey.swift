/// One session of one connection within an ``EventLoopShard``.
struct SessionKey: Hashable, Sendable {
    var connection: ConnectionID
    var session: UInt16
}
