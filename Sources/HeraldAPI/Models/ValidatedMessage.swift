import HeraldCore
import NIOCore

/// A user message that passed validation, with its delivery settled from the app's policy.
struct ValidatedMessage: Sendable, Hashable {
    /// How the message is delivered.
    enum Delivery: Sendable, Hashable {
        /// QoS 0: to online sessions only, `seq` 0.
        case live
        /// QoS 1: stored in each user's inbox first.
        case stored(Stored)
    }

    /// The settings of a QoS 1 message.
    struct Stored: Sendable, Hashable {
        /// Seconds, within the app's maximum.
        var ttl: Int
        var collapseKey: String?
        var keepsDeadLetter: Bool
    }

    /// Distinct, in the order first given.
    var users: [String]
    var payload: ByteBuffer
    var delivery: Delivery
}

extension InboxMessage {
    /// The store's form of a validated QoS 1 message.
    init(_ message: ValidatedMessage, _ stored: ValidatedMessage.Stored) {
        self.init(
            users: message.users,
            payload: message.payload,
            ttl: .seconds(stored.ttl),
            collapseKey: stored.collapseKey,
            keepsDeadLetter: stored.keepsDeadLetter
        )
    }
}
