import NIOCore

/// One user message of a batch handed to ``PushDelivery/sendUserMessages(app:_:)``.
public enum UserDelivery: Sendable {
    /// QoS 0: written to every online session of each user, `seq` 0.
    case live(users: [String], payload: ByteBuffer)
    /// Stored (QoS 1): each user's copy with its inbox sequence and `ACK_REQUIRED`.
    case stored(deliveries: [UserSequence], payload: ByteBuffer)
}
