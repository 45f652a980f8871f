import HeraldRESP
import NIOCore

/// A message published to a channel the subscriber listens to.
public struct RedisPubSubMessage: Hashable, Sendable {
    /// How the subscriber came to receive it.
    public enum Kind: Hashable, Sendable {
        /// `SUBSCRIBE`d to the channel.
        case channel
        /// `PSUBSCRIBE`d to a pattern matching the channel.
        case pattern
        /// `SSUBSCRIBE`d to the shard channel.
        case shardChannel
    }

    /// How the subscriber came to receive it.
    public var kind: Kind
    /// The channel it was published to.
    public var channel: String
    /// The pattern that matched, for ``Kind/pattern``.
    public var pattern: String?
    /// What was published.
    public var payload: ByteBuffer

    /// Creates a message.
    public init(kind: Kind, channel: String, pattern: String? = nil, payload: ByteBuffer) {
        self.kind = kind
        self.channel = channel
        self.pattern = pattern
        self.payload = payload
    }

    /// Reads a `message`, `pmessage` or `smessage` push; `nil` for other pushes (confirmations).
    init?(push token: RESPToken) {
        guard let elements = token.elements?.tokens, let kind = elements.first?.string?.lowercased() else { return nil }
        switch kind {
        case "message", "smessage":
            guard elements.count == 3, let channel = elements[1].string, let payload = elements[2].bytes else { return nil }
            self.init(kind: kind == "message" ? .channel : .shardChannel, channel: channel, payload: payload)
        case "pmessage":
            guard elements.count == 4, let pattern = elements[1].string, let channel = elements[2].string, let payload = elements[3].bytes
            else { return nil }
            self.init(kind: .pattern, channel: channel, pattern: pattern, payload: payload)
        default:
            return nil
        }
    }
}
