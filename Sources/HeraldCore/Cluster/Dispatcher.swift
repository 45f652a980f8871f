#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Chooses the gateways `/v1/dispatch` offers a user in a cluster: only live nodes that are
/// `ready` and have the gateway role, in the order of weighted rendezvous hashing on their
/// headroom (free connections). Each user gets a stable order, so a client that reconnects
/// tends to go back to the same node; users spread over the nodes in proportion to their
/// headroom; and when a node leaves, only its users move (each to its next choice).
public struct Dispatcher: Sendable {
    /// Creates a dispatcher.
    public init() {}

    /// The nodes among `leases` that may take `user`, best first; without a user, the one
    /// with the most headroom first.
    public func nodes(for user: String?, among leases: [NodeLease]) -> [NodeLease] {
        let candidates = leases.filter {
            $0.state == .ready && $0.roles.contains(.gateway) && $0.tcpEndpoint != nil && $0.webSocketEndpoint != nil
        }
        guard let user else {
            return candidates.sorted {
                ($0.maxConnections - $0.connections, $1.node) > ($1.maxConnections - $1.connections, $0.node)
            }
        }
        let userHash = Self.hash(Array(user.utf8), seed: 0xcbf2_9ce4_8422_2325)
        let scored = candidates.map { lease in (lease: lease, score: Self.score(userHash: userHash, lease: lease)) }
        return scored.sorted {
            $0.score != $1.score ? $0.score > $1.score : $0.lease.node.utf8.lexicographicallyPrecedes($1.lease.node.utf8)
        }.map(\.lease)
    }

    /// Weighted rendezvous: `-weight / ln(u)` with `u` uniform in (0, 1) from the hash of
    /// (user, node); the node with the highest score wins with probability proportional to
    /// its weight.
    static func score(userHash: UInt64, lease: NodeLease) -> Double {
        let headroom = max(lease.maxConnections - lease.connections, 0)
        // A full node still ranks, last; its weight is the smallest there is.
        let weight = Double(max(headroom, 1))
        let mixed = Self.mix(Self.hash(Array(lease.node.utf8), seed: userHash))
        let unit = (Double(mixed >> 11) + 0.5) / 9_007_199_254_740_992.0
        return -weight / log(unit)
    }

    /// FNV-1a over `bytes`, from `seed`.
    static func hash(_ bytes: [UInt8], seed: UInt64) -> UInt64 {
        var hash = seed
        for byte in bytes {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        return hash
    }

    /// SplitMix64's finalizer, so that nearby hashes land far apart.
    static func mix(_ value: UInt64) -> UInt64 {
        var z = value &+ 0x9e37_79b9_7f4a_7c15
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
}
