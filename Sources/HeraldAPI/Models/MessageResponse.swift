import HeraldCore

/// The answer to one accepted user message.
struct MessageResponse: Encodable, Sendable {
    struct Entry: Encodable, Sendable {
        var user: String
        /// The inbox sequence; 0 for QoS 0.
        var seq: UInt32
    }

    var messages: [Entry]
    /// How many sessions it was written to.
    var sessions: Int
}

extension MessageResponse {
    /// The answer for a stored message: each user with their inbox sequence.
    init(sequences: [UserSequence], sessions: Int) {
        self.init(messages: sequences.map { .init(user: $0.user, seq: $0.seq) }, sessions: sessions)
    }
}
