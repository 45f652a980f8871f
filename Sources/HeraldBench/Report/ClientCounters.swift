/// The clients' counters at the end of a run, summed over agents (a ``PoolSnapshot`` without
/// its histograms).
public struct ClientCounters: Sendable, Codable, Hashable {
    public var attempted: Int
    public var connected: Int
    public var authenticated: Int
    public var connectFailures: Int
    public var authFailures: Int
    public var refusedBusy: Int
    public var closedByServer: Int
    public var goAways: Int
    public var retries: Int
    public var timeouts: Int
    public var subscribeFailures: Int
    public var open: Int
    public var acksSent: Int
    public var errorsReceived: Int
    public var protocolErrors: Int
    /// Pushes received by kind.
    public var pushes: [String: Int]

    /// The counters of `snapshot`.
    public init(_ snapshot: PoolSnapshot) {
        self.attempted = snapshot.attempted
        self.connected = snapshot.connected
        self.authenticated = snapshot.authenticated
        self.connectFailures = snapshot.connectFailures
        self.authFailures = snapshot.authFailures
        self.refusedBusy = snapshot.refusedBusy
        self.closedByServer = snapshot.closedByServer
        self.goAways = snapshot.goAways
        self.retries = snapshot.retries
        self.timeouts = snapshot.timeouts
        self.subscribeFailures = snapshot.subscribeFailures
        self.open = snapshot.open
        self.acksSent = snapshot.acksSent
        self.errorsReceived = snapshot.errorsReceived
        self.protocolErrors = snapshot.protocolErrors
        self.pushes = snapshot.pushes
    }
}
