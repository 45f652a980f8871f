/// The parts of a `ws://` or `wss://host[:port][/path]` URL that the client needs.
struct WebSocketURL: Hashable, Sendable {
    var host: String
    var port: Int
    var path: String
    /// `wss://`: the connection runs inside TLS.
    var secure: Bool

    /// Parses `ws://host[:port][/path][?query]` or the same with `wss://`; IPv6 hosts are
    /// written in brackets. The port defaults to 80, or 443 with `wss://`.
    init?(_ string: String) {
        let lowered = string.lowercased()
        let scheme: String
        if lowered.hasPrefix("ws://") {
            scheme = "ws://"
        } else if lowered.hasPrefix("wss://") {
            scheme = "wss://"
        } else {
            return nil
        }
        let secure = scheme == "wss://"
        let rest = string.dropFirst(scheme.count)
        let authorityEnd = rest.firstIndex { $0 == "/" || $0 == "?" } ?? rest.endIndex
        let authority = rest[..<authorityEnd]
        var path = String(rest[authorityEnd...])
        if path.isEmpty || path.hasPrefix("?") { path = "/" + path }
        let host: Substring
        let defaultPort = secure ? 443 : 80
        var port = defaultPort
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { return nil }
            host = authority[authority.index(after: authority.startIndex)..<close]
            let after = authority[authority.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":"), let parsed = Int(after.dropFirst()) else { return nil }
                port = parsed
            }
        } else if let colon = authority.lastIndex(of: ":") {
            host = authority[..<colon]
            guard let parsed = Int(authority[authority.index(after: colon)...]) else { return nil }
            port = parsed
        } else {
            host = authority
        }
        guard !host.isEmpty, (1...65_535).contains(port) else { return nil }
        self.host = String(host)
        self.port = port
        self.path = path
        self.secure = secure
    }

    /// The value of the `Host` header.
    var hostHeader: String {
        let host = self.host.contains(":") ? "[\(self.host)]" : self.host
        return self.port == (self.secure ? 443 : 80) ? host : "\(host):\(self.port)"
    }
}
