/// One gateway a client may connect to, as `/v1/dispatch` lists it.
public struct DispatchEndpoint: Sendable, Hashable, Codable {
    /// The node's id.
    public var node: String
    /// The client TCP address, `host:port`.
    public var tcp: String
    /// The client WebSocket URL, `ws://host:port/ws`.
    public var ws: String

    /// Creates an endpoint.
    public init(node: String, tcp: String, ws: String) {
        self.node = node
        self.tcp = tcp
        self.ws = ws
    }
}
