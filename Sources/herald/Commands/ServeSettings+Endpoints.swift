import HeraldGateway

extension ServeSettings {
    /// Where clients reach the gateway bound at `bound`, as dispatch and a cluster node's lease
    /// hand it out: `host:port` or `tls://host:port`, and a `ws://` or `wss://` URL.
    func clientEndpoints(_ bound: BoundAddresses) -> (tcp: String, webSocket: String) {
        let tcpScheme = self.tcpTLS == nil ? "" : "tls://"
        let webSocketScheme = self.webSocketTLS == nil ? "ws" : "wss"
        return (
            "\(tcpScheme)\(self.publicHost):\(bound.tcpPort)",
            "\(webSocketScheme)://\(self.publicHost):\(bound.webSocketPort)/ws"
        )
    }

    /// The line scripts and tests wait for: the node, its client ports (none on an API-only
    /// node), its API port (none on a gateway-only node), and which listeners serve TLS.
    /// Words added to it go at its end: scripts read the first ones.
    func readyLine(bound: BoundAddresses?, apiPort: Int?) -> String {
        var line = "herald ready node=\(self.nodeID)"
        if let bound { line += " tcp=\(self.host):\(bound.tcpPort) ws=\(self.host):\(bound.webSocketPort)" }
        if let apiPort { line += " api=\(self.apiHost):\(apiPort)" }
        if let listeners = self.tlsListeners { line += " tls=\(listeners)" }
        return line
    }
}
