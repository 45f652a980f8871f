import HeraldWire

/// What a raw client saw on its connection, in arrival order.
public enum RawEvent: Sendable, Hashable {
    /// A whole frame (over WebSocket: one binary message).
    case frame(Frame)
    /// A WebSocket text message, which a Herald server must never send.
    case text(String)
    /// Bytes from the server that are not a valid frame.
    case malformed(ProtocolError)
    /// The connection is closed (EOF, reset, or a WebSocket close).
    case closed
}
