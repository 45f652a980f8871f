/// The address of one node of a Redis Cluster, as the cluster announces it.
public struct RedisClusterNode: Hashable, Sendable, CustomStringConvertible {
    /// The node's host name or address.
    public var host: String
    /// The node's client port.
    public var port: Int

    /// Creates the address of the node at `host` and `port`.
    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// Reads `host:port` (`[address]:port` for IPv6); an empty host is `defaultHost`, as in a
    /// redirect from a node that does not know its own address.
    init?(_ text: Substring, defaultHost: String? = nil) {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]),
            (1...65535).contains(port)
        else { return nil }
        var host = text[..<colon]
        if host.hasPrefix("["), host.hasSuffix("]") { host = host.dropFirst().dropLast() }
        if host.isEmpty {
            guard let defaultHost else { return nil }
            self.init(host: defaultHost, port: port)
        } else {
            self.init(host: String(host), port: port)
        }
    }

    public var description: String {
        self.host.contains(":") ? "[\(self.host)]:\(self.port)" : "\(self.host):\(self.port)"
    }
}
