/// How bench clients reach the server.
public enum BenchTransport: String, Sendable, Codable, Hashable, CaseIterable {
    /// Frames over a plain TCP stream.
    case tcp
    /// One frame per binary WebSocket message.
    case webSocket
}
