/// The line `herald serve` prints once everything listens:
/// `herald ready node=<id> tcp=<host>:<port> ws=<host>:<port> api=<host>:<port>`.
public struct HeraldReadyLine: Sendable, Hashable {
    public static let prefix = "herald ready "

    public var node: String
    public var tcp: Endpoint
    public var webSocket: Endpoint
    public var api: Endpoint

    /// A host and port as the ready line prints them.
    public struct Endpoint: Sendable, Hashable, CustomStringConvertible {
        public var host: String
        public var port: Int

        public init(host: String, port: Int) {
            self.host = host
            self.port = port
        }

        /// Parses `host:port`; the port is what follows the last colon, so IPv6 hosts work too.
        init?(parsing text: Substring) {
            guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]),
                (1...65_535).contains(port)
            else { return nil }
            var host = text[..<colon]
            if host.hasPrefix("[") && host.hasSuffix("]") {
                host = host.dropFirst().dropLast()
            }
            self.init(host: String(host), port: port)
        }

        public var description: String { "\(self.host):\(self.port)" }
    }

    /// Parses a ready line; `nil` if `line` is not one or lacks a field.
    public init?(parsing line: Substring) {
        guard line.hasPrefix(Self.prefix) else { return nil }
        var fields: [Substring: Substring] = [:]
        for word in line.dropFirst(Self.prefix.count).split(separator: " ") {
            guard let equals = word.firstIndex(of: "=") else { continue }
            fields[word[..<equals]] = word[word.index(after: equals)...]
        }
        guard let node = fields["node"], !node.isEmpty,
            let tcp = fields["tcp"].flatMap(Endpoint.init(parsing:)),
            let webSocket = fields["ws"].flatMap(Endpoint.init(parsing:)),
            let api = fields["api"].flatMap(Endpoint.init(parsing:))
        else { return nil }
        self.node = String(node)
        self.tcp = tcp
        self.webSocket = webSocket
        self.api = api
    }
}
