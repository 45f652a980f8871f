#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// The process's open-file limit (`ulimit -n`), and the client connections it leaves room for.
enum DescriptorLimit {
    /// Descriptors kept for everything but client connections: the listeners, the API's
    /// connections, the store's files or PostgreSQL pool, logs.
    static let reserved = 256

    /// Without a limit, the cap `--max-connections` has by default.
    static let unlimitedConnections = 1_000_000

    /// The soft limit on open files; nil when there is none or it cannot be read.
    static var current: Int? {
        var limit = rlimit()
        // RLIM_INFINITY is the largest value.
        guard getrlimit(Self.resource, &limit) == 0, limit.rlim_cur < rlim_t(Int.max) else { return nil }
        return Int(limit.rlim_cur)
    }

    /// The default of `--max-connections`: what `limit` leaves once ``reserved`` is set aside.
    static func connections(allowedBy limit: Int?) -> Int {
        guard let limit else { return Self.unlimitedConnections }
        return min(max(limit - Self.reserved, 1), Self.unlimitedConnections)
    }

    /// A sentence for the log when `maxConnections` needs more descriptors than `limit`.
    static func shortfall(maxConnections: Int, limit: Int?) -> String? {
        guard let limit, maxConnections > Self.connections(allowedBy: limit) else { return nil }
        return "The open-file limit (ulimit -n) is \(limit), which leaves room for about "
            + "\(Self.connections(allowedBy: limit)) client connections beside the API and the store, "
            + "but --max-connections allows \(maxConnections): connections past that will fail when "
            + "the process runs out of descriptors. Raise the limit or lower --max-connections."
    }

    #if canImport(Glibc)
        private static let resource = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
    #else
        private static let resource = RLIMIT_NOFILE
    #endif
}
