import NIOCore

/// Where a running ``Gateway`` listens.
public struct BoundAddresses: Sendable, Hashable {
    /// The client TCP server.
    public var tcp: SocketAddress
    /// The client WebSocket server.
    public var webSocket: SocketAddress

    /// Creates the pair of addresses.
    public init(tcp: SocketAddress, webSocket: SocketAddress) {
        self.tcp = tcp
        self.webSocket = webSocket
    }

    /// The TCP port actually bound (0 if unknown).
    public var tcpPort: Int { self.tcp.port ?? 0 }
    /// The WebSocket port actually bound (0 if unknown).
    public var webSocketPort: Int { self.webSocket.port ?? 0 }
}
