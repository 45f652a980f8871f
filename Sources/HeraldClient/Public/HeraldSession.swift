import HeraldWire

/// The session the server opened for this client: the AUTH_OK of the current connection.
public struct HeraldSession: Sendable, Hashable {
    /// The session number on its connection (1 in this SDK version: one session per connection).
    public var id: UInt16
    /// The app the token belongs to.
    public var app: String
    /// The user the token belongs to.
    public var user: String
    /// The device the token names (`"default"` when the token has none).
    public var device: String
    /// The interval at which the client PINGs, chosen by the server.
    public var heartbeat: Duration
    /// The gateway node that holds the connection.
    public var node: String
    /// The app's sequence epoch (see docs/protocol.md, "Delivery").
    public var epoch: String
    /// Whether the replay that follows covers everything missed since the resume cursors.
    /// `false` for either means the app should resynchronise from its backend.
    public var recovered: AuthOK.Recovered

    /// Creates a session description from an AUTH_OK body.
    public init(_ authOK: AuthOK) {
        self.id = authOK.session
        self.app = authOK.app
        self.user = authOK.user
        self.device = authOK.device
        self.heartbeat = .seconds(authOK.heartbeat)
        self.node = authOK.node
        self.epoch = authOK.epoch
        self.recovered = authOK.recovered
    }
}
