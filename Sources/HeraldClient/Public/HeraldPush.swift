import HeraldWire
import NIOCore

/// A message the server pushed to this client.
public struct HeraldPush: Sendable, Hashable {
    /// The stream sequence: the inbox sequence for QoS 1 user messages, the broadcast
    /// sequence for broadcasts, 0 for QoS 0 user messages and topic messages.
    public var seq: UInt32
    /// User message, broadcast or topic message.
    public var kind: PushKind
    /// The topic, for topic messages; empty otherwise.
    public var topic: String
    /// The payload, opaque to Herald.
    public var payload: ByteBuffer
    /// Whether the server waits for an ACK (QoS 1 user messages).
    public var ackRequired: Bool

    /// Creates a push.
    public init(seq: UInt32, kind: PushKind, topic: String = "", payload: ByteBuffer, ackRequired: Bool) {
        self.seq = seq
        self.kind = kind
        self.topic = topic
        self.payload = payload
        self.ackRequired = ackRequired
    }
}
