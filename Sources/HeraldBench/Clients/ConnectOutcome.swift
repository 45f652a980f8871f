/// How one connect phase of a ``BenchClientPool`` ended (``BenchClientPool/connectAll()``,
/// ``BenchClientPool/reconnectAll(rate:)``).
public struct ConnectOutcome: Sendable, Codable, Hashable {
    /// Connections this phase set out to open (retries not counted again).
    public var attempted: Int
    /// Connections authenticated (and subscribed) at the end of the phase.
    public var authenticated: Int
    /// Connections given up on.
    public var failed: Int
    /// `server_busy` refusals seen in this phase, retried ones included.
    public var refusedBusy: Int
    /// Attempts made again after a retryable failure.
    public var retries: Int
    /// Seconds from the first attempt until every connection was authenticated or given up on.
    public var seconds: Double
    /// Why the phase did not run at all (for example a plan over the file descriptor limit).
    public var error: String?

    public init(
        attempted: Int = 0,
        authenticated: Int = 0,
        failed: Int = 0,
        refusedBusy: Int = 0,
        retries: Int = 0,
        seconds: Double = 0,
        error: String? = nil
    ) {
        self.attempted = attempted
        self.authenticated = authenticated
        self.failed = failed
        self.refusedBusy = refusedBusy
        self.retries = retries
        self.seconds = seconds
        self.error = error
    }

    /// Authenticated connections per second over the phase.
    public var connectionsPerSecond: Double {
        self.seconds > 0 ? Double(self.authenticated) / self.seconds : 0
    }

    /// Adds the counts of `other`; `seconds` is the longer (phases of several pools overlap).
    public mutating func merge(_ other: ConnectOutcome) {
        self.attempted += other.attempted
        self.authenticated += other.authenticated
        self.failed += other.failed
        self.refusedBusy += other.refusedBusy
        self.retries += other.retries
        self.seconds = max(self.seconds, other.seconds)
        self.error = self.error ?? other.error
    }
}
