/// The two versions of the protocol: RESP2 (every Redis) and RESP3 (Redis 6 and later, after `HELLO 3`).
public enum RESPVersion: Int, Hashable, Sendable {
    /// Five types; maps and pushes arrive as arrays, null as `$-1` or `*-1`.
    case resp2 = 2
    /// Adds null, booleans, doubles, big numbers, maps, sets, pushes, attributes and verbatim strings.
    case resp3 = 3
}
