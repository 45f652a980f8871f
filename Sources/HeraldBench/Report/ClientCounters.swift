/// A client pool's counters: totals since the pool was made (``open`` is the only gauge),
/// summed over loops, pools and agents with ``merge(_:)``. The counter part of a
/// ``PoolSnapshot``, and what a ``BenchReport`` keeps of it.
public struct ClientCounters: Sendable, Codable, Hashable {
    /// Connection attempts, retries included.
    public var attempted: Int
    /// Attempts that reached the server (TCP connected; on WebSocket, upgraded).
    public var connected: Int
    /// AUTH_OK received.
    public var authenticated: Int
    /// Attempts that failed before AUTH was answered: refused, timed out, closed early.
    public var connectFailures: Int
    /// AUTH answered with an ERROR other than `server_busy`.
    public var authFailures: Int
    /// Connections refused with `server_busy`.
    public var refusedBusy: Int
    /// Connections the server closed (not this pool).
    public var closedByServer: Int
    /// GOAWAY frames received.
    public var goAways: Int
    /// Attempts made again after a retryable failure (``BenchClientPool/reconnectAll(rate:)``).
    public var retries: Int
    /// Attempts abandoned because connecting, upgrading or authenticating took too long.
    public var timeouts: Int
    /// SUBSCRIBE answered with an ERROR.
    public var subscribeFailures: Int
    /// Connections authenticated (and subscribed) now.
    public var open: Int
    /// PINGs sent and PONGs received.
    public var pingsSent: Int
    public var pongsReceived: Int
    /// ACK frames sent (each acknowledges everything up to its sequence).
    public var acksSent: Int
    /// ERROR frames received once authenticated.
    public var errorsReceived: Int
    /// Frames from the server that broke the protocol (the connection is closed).
    public var protocolErrors: Int
    /// PUSHes received, by kind: `"user"`, `"broadcast"`, `"topic"`.
    public var pushes: [String: Int]

    /// All zero.
    public init() {
        self.attempted = 0
        self.connected = 0
        self.authenticated = 0
        self.connectFailures = 0
        self.authFailures = 0
        self.refusedBusy = 0
        self.closedByServer = 0
        self.goAways = 0
        self.retries = 0
        self.timeouts = 0
        self.subscribeFailures = 0
        self.open = 0
        self.pingsSent = 0
        self.pongsReceived = 0
        self.acksSent = 0
        self.errorsReceived = 0
        self.protocolErrors = 0
        self.pushes = [:]
    }

    /// Adds `other` into these counters.
    public mutating func merge(_ other: ClientCounters) {
        self.attempted += other.attempted
        self.connected += other.connected
        self.authenticated += other.authenticated
        self.connectFailures += other.connectFailures
        self.authFailures += other.authFailures
        self.refusedBusy += other.refusedBusy
        self.closedByServer += other.closedByServer
        self.goAways += other.goAways
        self.retries += other.retries
        self.timeouts += other.timeouts
        self.subscribeFailures += other.subscribeFailures
        self.open += other.open
        self.pingsSent += other.pingsSent
        self.pongsReceived += other.pongsReceived
        self.acksSent += other.acksSent
        self.errorsReceived += other.errorsReceived
        self.protocolErrors += other.protocolErrors
        self.pushes.merge(other.pushes, uniquingKeysWith: +)
    }

    // MARK: Codable

    private enum CodingKeys: String, CodingKey {
        case attempted, connected, authenticated, connectFailures, authFailures, refusedBusy, closedByServer,
            goAways, retries, timeouts, subscribeFailures, open, pingsSent, pongsReceived, acksSent, errorsReceived,
            protocolErrors, pushes
    }

    /// Decodes the counters; a missing one is 0, and other keys (a ``PoolSnapshot``'s) are ignored.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        func count(_ key: CodingKeys) throws -> Int { try container.decodeIfPresent(Int.self, forKey: key) ?? 0 }
        self.attempted = try count(.attempted)
        self.connected = try count(.connected)
        self.authenticated = try count(.authenticated)
        self.connectFailures = try count(.connectFailures)
        self.authFailures = try count(.authFailures)
        self.refusedBusy = try count(.refusedBusy)
        self.closedByServer = try count(.closedByServer)
        self.goAways = try count(.goAways)
        self.retries = try count(.retries)
        self.timeouts = try count(.timeouts)
        self.subscribeFailures = try count(.subscribeFailures)
        self.open = try count(.open)
        self.pingsSent = try count(.pingsSent)
        self.pongsReceived = try count(.pongsReceived)
        self.acksSent = try count(.acksSent)
        self.errorsReceived = try count(.errorsReceived)
        self.protocolErrors = try count(.protocolErrors)
        self.pushes = try container.decodeIfPresent([String: Int].self, forKey: .pushes) ?? [:]
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(self.attempted, forKey: .attempted)
        try container.encode(self.connected, forKey: .connected)
        try container.encode(self.authenticated, forKey: .authenticated)
        try container.encode(self.connectFailures, forKey: .connectFailures)
        try container.encode(self.authFailures, forKey: .authFailures)
        try container.encode(self.refusedBusy, forKey: .refusedBusy)
        try container.encode(self.closedByServer, forKey: .closedByServer)
        try container.encode(self.goAways, forKey: .goAways)
        try container.encode(self.retries, forKey: .retries)
        try container.encode(self.timeouts, forKey: .timeouts)
        try container.encode(self.subscribeFailures, forKey: .subscribeFailures)
        try container.encode(self.open, forKey: .open)
        try container.encode(self.pingsSent, forKey: .pingsSent)
        try container.encode(self.pongsReceived, forKey: .pongsReceived)
        try container.encode(self.acksSent, forKey: .acksSent)
        try container.encode(self.errorsReceived, forKey: .errorsReceived)
        try container.encode(self.protocolErrors, forKey: .protocolErrors)
        try container.encode(self.pushes, forKey: .pushes)
    }
}
