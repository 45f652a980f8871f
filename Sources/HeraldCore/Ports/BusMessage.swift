import NIOCore

/// One message on the cluster bus, with the node that sent it.
public struct BusMessage: Sendable {
    /// What a node asks of another.
    public enum Body: Sendable {
        /// User messages (a batch, in order) for the listed users' sessions on the target.
        case userMessages(app: String, [UserDelivery])
        /// A broadcast with its per-app sequence, for every session of the app.
        case broadcast(app: String, seq: UInt32, payload: ByteBuffer)
        /// A topic message, for the app's sessions subscribed to `topic`.
        case topic(app: String, topic: String, payload: ByteBuffer)
        /// End a user's sessions (all, or one device's) with GOAWAY `kicked`.
        case kick(app: String, user: String, device: String?)
        /// End the session `displaced` with GOAWAY `replaced`: the same device authenticated
        /// on another node.
        case replace(displaced: SessionInfo)
        /// An app was created, changed or deleted: reload it from the store.
        case appChanged(app: String)
    }

    /// The node that sent it.
    public var origin: String
    public var body: Body

    public init(origin: String, body: Body) {
        self.origin = origin
        self.body = body
    }
}
