/// The body of AUTH_OK: the new session and what the client needs to know about it.
public struct AuthOK: Codable, Sendable, Hashable {
    /// Whether the replay that follows is complete (see "Epoch and recovery").
    public struct Recovered: Codable, Sendable, Hashable {
        public var inbox: Bool
        public var broadcast: Bool

        public init(inbox: Bool, broadcast: Bool) {
            self.inbox = inbox
            self.broadcast = broadcast
        }
    }

    public var session: UInt16
    public var app: String
    public var user: String
    public var device: String
    /// Seconds between the client's PINGs.
    public var heartbeat: Int
    public var node: String
    public var epoch: String
    public var recovered: Recovered

    public init(
        session: UInt16, app: String, user: String, device: String, heartbeat: Int, node: String, epoch: String,
        recovered: Recovered
    ) {
        self.session = session
        self.app = app
        self.user = user
        self.device = device
        self.heartbeat = heartbeat
        self.node = node
        self.epoch = epoch
        self.recovered = recovered
    }
}
