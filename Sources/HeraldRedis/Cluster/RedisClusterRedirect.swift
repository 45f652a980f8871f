/// A node's answer that a key's slot is served elsewhere: `MOVED` (for good: the slot map is
/// out of date) or `ASK` (for this one command, while the slot migrates).
public struct RedisClusterRedirect: Hashable, Sendable {
    /// Which of the two redirects this is.
    public enum Kind: Hashable, Sendable {
        /// `MOVED slot host:port`: the slot now belongs to the node.
        case moved
        /// `ASK slot host:port`: send this command to the node, after `ASKING`.
        case ask
    }

    /// Which of the two redirects this is.
    public var kind: Kind
    /// The slot the redirect is about.
    public var slot: Int
    /// The node to send the command to.
    public var node: RedisClusterNode

    /// Creates a redirect.
    public init(kind: Kind, slot: Int, node: RedisClusterNode) {
        self.kind = kind
        self.slot = slot
        self.node = node
    }

    /// Reads the error line of a redirect, such as `MOVED 3999 127.0.0.1:6381`; `nil` for any
    /// other error. `origin` is the node that answered, whose host an empty host stands for.
    public init?(errorMessage: String, origin: RedisClusterNode? = nil) {
        let parts = errorMessage.split(separator: " ", omittingEmptySubsequences: true)
        guard parts.count == 3, let slot = Int(parts[1]), (0..<RedisClusterKeySlot.count).contains(slot),
            let node = RedisClusterNode(parts[2], defaultHost: origin?.host)
        else { return nil }
        switch parts[0] {
        case "MOVED": self.init(kind: .moved, slot: slot, node: node)
        case "ASK": self.init(kind: .ask, slot: slot, node: node)
        default: return nil
        }
    }

    /// The redirect carried by `error`, if it is one.
    init?(_ error: RedisClientError, origin: RedisClusterNode) {
        guard error.code == .commandError, let message = error.message else { return nil }
        self.init(errorMessage: message, origin: origin)
    }
}
