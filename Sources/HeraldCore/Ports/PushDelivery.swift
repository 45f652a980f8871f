import NIOCore

/// The port through which the API hands messages to connections (360's Center → Room).
///
/// On a single node the gateway implements it directly; in a cluster an implementation
/// routes through the message bus to the nodes that hold the sessions. Each call returns
/// the number of sessions the message was written to.
public protocol PushDelivery: Sendable {
    /// A QoS 0 user message: written to every online session of each user, `seq` 0.
    func sendToUsers(app: String, users: [String], payload: ByteBuffer) async -> Int
    /// A stored QoS 1 user message: each user's copy carries that user's inbox sequence and
    /// `ACK_REQUIRED`, written to every online session of the user.
    func sendStored(app: String, deliveries: [UserSequence], payload: ByteBuffer) async -> Int
    /// Several user messages (the batch endpoint), in order. Returns each one's number of
    /// sessions. An implementation should hand them over together: one hop per event loop,
    /// not one per message.
    func sendUserMessages(app: String, _ messages: [UserDelivery]) async -> [Int]
    /// A broadcast with its per-app sequence: written to every online session of the app.
    func broadcast(app: String, seq: UInt32, payload: ByteBuffer) async -> Int
    /// A topic message: written to every session of the app subscribed to `topic`.
    func publish(app: String, topic: String, payload: ByteBuffer) async -> Int
    /// Ends the user's sessions (all of them, or those of one device) with GOAWAY `kicked`.
    func kick(app: String, user: String, device: String?) async -> Int
}

extension PushDelivery {
    /// One message after another, for implementations with nothing better to do.
    public func sendUserMessages(app: String, _ messages: [UserDelivery]) async -> [Int] {
        var sessions: [Int] = []
        sessions.reserveCapacity(messages.count)
        for message in messages {
            switch message {
            case .live(let users, let payload):
                sessions.append(await self.sendToUsers(app: app, users: users, payload: payload))
            case .stored(let deliveries, let payload):
                sessions.append(await self.sendStored(app: app, deliveries: deliveries, payload: payload))
            }
        }
        return sessions
    }
}
