import NIOCore

/// Where a Redis Cluster can be reached and how the client behaves towards it.
public struct RedisClusterConfiguration: Hashable, Sendable {
    /// The nodes asked for the slot map at first, and again when no known node answers.
    public var seeds: [RedisClusterNode]
    /// The settings of the connections to each node (credentials, pool size, timeouts,
    /// backoff); its host and port are replaced by each node's, its database must be 0.
    public var node: RedisConfiguration
    /// How many redirects (`MOVED`, `ASK`) a command may follow before it fails with `tooManyRedirects`.
    public var maximumRedirects: Int
    /// How often the slot map is read again when nothing else prompted it.
    public var refreshInterval: TimeAmount
    /// The shortest time between two reads of the slot map prompted by redirects or by failed connections.
    public var minimumRefreshInterval: TimeAmount

    /// Creates a configuration for the cluster that `seeds` belong to.
    public init(
        seeds: [RedisClusterNode],
        node: RedisConfiguration = RedisConfiguration(host: "127.0.0.1"),
        maximumRedirects: Int = 5,
        refreshInterval: TimeAmount = .seconds(60),
        minimumRefreshInterval: TimeAmount = .milliseconds(500)
    ) {
        self.seeds = seeds
        self.node = node
        self.maximumRedirects = maximumRedirects
        self.refreshInterval = refreshInterval
        self.minimumRefreshInterval = minimumRefreshInterval
    }

    /// The scheme of a Redis Cluster's URL.
    public static let scheme = "redis+cluster://"

    /// Reads `redis+cluster://[user:password@]host:port[,host:port…]`; the other settings keep their defaults.
    public init(url: String) throws(RedisClientError) {
        let scheme = Self.scheme
        guard url.hasPrefix(scheme) else {
            throw RedisClientError(
                .invalidConfiguration,
                message: "the URL \(RedisConfiguration.redacted(url)) does not start with \(scheme) (TLS to a Redis Cluster is not supported)"
            )
        }
        let rest = url.dropFirst(scheme.count)
        let userInfo = rest.lastIndex(of: "@").map { rest[...$0] } ?? ""
        var hosts = rest.dropFirst(userInfo.count)
        if hosts.hasSuffix("/0") { hosts = hosts.dropLast(2) } else if hosts.hasSuffix("/") { hosts = hosts.dropLast() }
        var seeds: [RedisClusterNode] = []
        for host in hosts.split(separator: ",", omittingEmptySubsequences: false) {
            // Each seed is read as a redis:// URL of its own, for the same rules on hosts and ports.
            guard !host.contains("/") else {
                throw RedisClientError(
                    .invalidConfiguration,
                    message: "the URL \(RedisConfiguration.redacted(url)) names a database, which Redis Cluster does not have"
                )
            }
            let single = try RedisConfiguration(url: "redis://\(userInfo)\(host)")
            seeds.append(RedisClusterNode(host: single.host, port: single.port))
        }
        let first = try RedisConfiguration(url: "redis://\(userInfo)\(hosts.split(separator: ",").first ?? "")")
        self.init(seeds: seeds, node: first)
    }
}
