import HeraldRESP
import NIOCore

/// Where a Redis server is, how to log in, and how the client behaves towards it.
public struct RedisConfiguration: Hashable, Sendable {
    /// The server's host name or address.
    public var host: String
    /// The server's port.
    public var port: Int
    /// The ACL user to log in as; `nil` logs in as `default` (with ``password`` alone).
    public var username: String?
    /// The password, or `nil` when the server needs none.
    public var password: String?
    /// The database to `SELECT` after connecting.
    public var database: Int
    /// How many connections ``RedisClient`` keeps; commands share them, pipelined.
    public var poolSize: Int
    /// How long connecting, handshake included, may take.
    public var connectTimeout: TimeAmount
    /// How long a command may wait for its reply before it fails and its connection is closed.
    public var commandTimeout: TimeAmount
    /// How reconnection attempts are spaced.
    public var backoff: RedisBackoff
    /// The bounds a reply must stay within.
    public var limits: RESPLimits
    /// TLS to the server, or `nil` for plain TCP.
    public var tls: RedisTLS?

    /// Creates a configuration for the server at `host` and `port`.
    public init(
        host: String,
        port: Int = 6379,
        username: String? = nil,
        password: String? = nil,
        database: Int = 0,
        poolSize: Int = 4,
        connectTimeout: TimeAmount = .seconds(5),
        commandTimeout: TimeAmount = .seconds(5),
        backoff: RedisBackoff = RedisBackoff(),
        limits: RESPLimits = RESPLimits(),
        tls: RedisTLS? = nil
    ) {
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.database = database
        self.poolSize = poolSize
        self.connectTimeout = connectTimeout
        self.commandTimeout = commandTimeout
        self.backoff = backoff
        self.limits = limits
        self.tls = tls
    }

    /// The schemes of a single server's URL: plain TCP and TLS.
    public static let schemes = ["redis://", "rediss://"]

    /// Reads `redis://[user:password@]host[:port][/database]`; `redis://:password@host` logs in
    /// as `default`. `rediss://` is the same over TLS, with `?cacert=FILE` for the PEM
    /// certificate authorities to trust instead of the system's. The other settings keep their
    /// defaults.
    public init(url: String) throws(RedisClientError) {
        func invalid(_ why: String) -> RedisClientError {
            RedisClientError(.invalidConfiguration, message: "the URL \(Self.redacted(url)) \(why)")
        }
        guard let scheme = Self.schemes.first(where: { url.hasPrefix($0) }) else {
            throw invalid("does not start with redis:// or rediss://")
        }
        var address = Substring(url.dropFirst(scheme.count))
        var tls: RedisTLS? = scheme == "rediss://" ? RedisTLS() : nil
        // The query starts after the credentials, whose password may hold a "?".
        let credentialsEnd = address.lastIndex(of: "@") ?? address.startIndex
        if let question = address[credentialsEnd...].firstIndex(of: "?") {
            for parameter in address[address.index(after: question)...].split(separator: "&") {
                let pair = parameter.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                guard pair.count == 2, pair[0] == "cacert" else {
                    throw invalid("has a parameter other than cacert=FILE")
                }
                guard tls != nil else { throw invalid("names a cacert but does not use TLS (rediss://)") }
                guard !pair[1].isEmpty else { throw invalid("has an empty cacert") }
                tls?.caFile = Self.percentDecoded(pair[1])
            }
            address = address[..<question]
        }
        var rest = address
        var database = 0
        if let slash = rest.firstIndex(of: "/") {
            let path = rest[rest.index(after: slash)...]
            rest = rest[..<slash]
            if !path.isEmpty {
                guard let number = Int(path), number >= 0 else { throw invalid("names a database that is not a number") }
                database = number
            }
        }
        var username: String?
        var password: String?
        if let at = rest.lastIndex(of: "@") {
            let userInfo = rest[..<at]
            rest = rest[rest.index(after: at)...]
            if let colon = userInfo.firstIndex(of: ":") {
                let user = Self.percentDecoded(userInfo[..<colon])
                username = user.isEmpty ? nil : user
                password = Self.percentDecoded(userInfo[userInfo.index(after: colon)...])
            } else {
                // A lone user info is the password, as redis-cli reads it.
                password = Self.percentDecoded(userInfo)
            }
        }
        var host = rest
        var port = 6379
        if let colon = rest.lastIndex(of: ":"), !rest.hasSuffix("]") {
            host = rest[..<colon]
            guard let number = Int(rest[rest.index(after: colon)...]), (1...65535).contains(number) else {
                throw invalid("has a port that is not a number from 1 to 65535")
            }
            port = number
        }
        if host.hasPrefix("["), host.hasSuffix("]") { host = host.dropFirst().dropLast() }
        guard !host.isEmpty else { throw invalid("has no host") }
        self.init(host: String(host), port: port, username: username, password: password, database: database, tls: tls)
    }

    /// The URL with its password replaced, for errors and logs.
    static func redacted(_ url: String) -> String {
        guard let at = url.lastIndex(of: "@"), let scheme = url.firstRange(of: "://") else { return url }
        let userInfo = url[scheme.upperBound..<at]
        var redacted = url
        if let colon = userInfo.firstIndex(of: ":") {
            redacted.replaceSubrange(url.index(after: colon)..<at, with: "***")
        } else {
            redacted.replaceSubrange(scheme.upperBound..<at, with: "***")
        }
        return redacted
    }

    private static func percentDecoded(_ text: Substring) -> String {
        var bytes: [UInt8] = []
        var utf8 = text.utf8.makeIterator()
        while let byte = utf8.next() {
            guard byte == UInt8(ascii: "%") else {
                bytes.append(byte)
                continue
            }
            let high = utf8.next().flatMap { UInt8(String(UnicodeScalar($0)), radix: 16) }
            let low = utf8.next().flatMap { UInt8(String(UnicodeScalar($0)), radix: 16) }
            if let high, let low { bytes.append(high << 4 | low) } else { bytes.append(byte) }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
