/// What ``NodeRegistry/renew(_:ttl:)`` found, and did.
public enum NodeRenewal: Sendable, Hashable {
    /// The process's own lease was current; it is renewed.
    case renewed
    /// No lease of the node was current (it lapsed, was withdrawn, or the registry lost it):
    /// the lease is written, and a node that was serving restores its sessions.
    case lapsed
    /// A current lease of the node belongs to another process (another
    /// ``NodeLease/incarnation``); nothing was written.
    case taken(by: NodeLease)
}
