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
