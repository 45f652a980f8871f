/// The protocol's two client transports (docs/protocol.md), for tests that run over both.
public enum Transport: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// A byte stream of frames on the server's TCP port.
    case tcp
    /// One frame per binary WebSocket message on the server's `/ws` endpoint.
    case webSocket

    public var description: String { self.rawValue }
}
