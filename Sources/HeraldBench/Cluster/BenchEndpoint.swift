/// One gateway node the bench clients connect to: its id and client addresses, as
/// `GET /v1/dispatch` names them.
public struct BenchEndpoint: Sendable, Codable, Hashable {
    /// The node's id (empty when the endpoint was given on the command line).
    public var node: String
    /// Host of the client TCP port (an IP address or a name).
    public var tcpHost: String
    /// The client TCP port.
    public var tcpPort: Int
    /// The WebSocket endpoint, for example `ws://127.0.0.1:7071/ws`; needed for WebSocket plans.
    public var webSocketURL: String?

    /// Creates an endpoint.
    public init(node: String, tcpHost: String, tcpPort: Int, webSocketURL: String?) {
        self.node = node
        self.tcpHost = tcpHost
        self.tcpPort = tcpPort
        self.webSocketURL = webSocketURL
    }

    /// The endpoint of a dispatch answer: `tcp` is `host:port` (a `tls://` endpoint is refused,
    /// the bench does not speak TLS), `ws` the WebSocket URL.
    public init(node: String, tcp: String, ws: String?) throws(BenchError) {
        guard !tcp.hasPrefix("tls://") else {
            throw BenchError("node \(node) serves its clients over TLS (\(tcp)), which the bench does not speak")
        }
        let parsed: (host: String, port: Int)
        do {
            parsed = try BenchFleet.parse(agent: tcp)
        } catch {
            throw BenchError("an endpoint is host:port, not \"\(tcp)\"")
        }
        self.init(node: node, tcpHost: parsed.host, tcpPort: parsed.port, webSocketURL: ws)
    }

    /// The target's own endpoint: where every client goes when the run is not spread over a cluster.
    public init(_ target: BenchTarget) {
        self.init(node: "", tcpHost: target.tcpHost, tcpPort: target.tcpPort, webSocketURL: target.webSocketURL)
    }

    /// `host:port` of the client TCP port, the host in brackets when it is IPv6.
    public var tcpAddress: String {
        self.tcpHost.contains(":") ? "[\(self.tcpHost)]:\(self.tcpPort)" : "\(self.tcpHost):\(self.tcpPort)"
    }
}
