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
    /// A broadcast with its per-app sequence: written to every online session of the app.
    func broadcast(app: String, seq: UInt32, payload: ByteBuffer) async -> Int
    /// A topic message: written to every session of the app subscribed to `topic`.
    func publish(app: String, topic: String, payload: ByteBuffer) async -> Int
    /// Ends the user's sessions (all of them, or those of one device) with GOAWAY `kicked`.
    func kick(app: String, user: String, device: String?) async -> Int
}
