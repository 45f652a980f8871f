/// One gateway a client may connect to, as `/v1/dispatch` lists it.
public struct DispatchEndpoint: Sendable, Hashable, Codable {
    /// The node's id.
    public var node: String
    /// The client TCP address, `host:port`, or `tls://host:port` when the listener serves TLS.
    public var tcp: String
    /// The client WebSocket URL, `ws://host:port/ws` (`wss://` with TLS).
    public var ws: String

    /// Creates an endpoint.
    public init(node: String, tcp: String, ws: String) {
        self.node = node
        self.tcp = tcp
        self.ws = ws
    }
}
