#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// What a node's lease says about it: where clients and backends reach it, how loaded it
/// is, and whether it takes new clients; and which process holds the node's id.
public struct NodeLease: Sendable, Hashable, Codable {
    /// Whether a node takes new client connections.
    public enum State: String, Sendable, Hashable, Codable {
        /// Serving; dispatch may offer it.
        case ready
        /// Stopping or cut off: its clients move elsewhere; dispatch never offers it.
        case draining
    }

    /// The roles a node runs.
    public struct Roles: OptionSet, Sendable, Hashable, Codable {
        public let rawValue: UInt8
        public init(rawValue: UInt8) { self.rawValue = rawValue }
        /// Holds client connections (TCP and WebSocket).
        public static let gateway = Roles(rawValue: 1 << 0)
        /// Serves the HTTP API.
        public static let api = Roles(rawValue: 1 << 1)
        public static let all: Roles = [.gateway, .api]
    }

    public var node: String
    public var roles: Roles
    public var state: State
    /// `host:port` of the TCP gateway as clients reach it; nil without the gateway role.
    public var tcpEndpoint: String?
    /// `ws://host:port/path` of the WebSocket gateway; nil without the gateway role.
    public var webSocketEndpoint: String?
    /// The connection cap (`--max-connections`), for dispatch's headroom.
    public var maxConnections: Int
    public var connections: Int
    public var sessions: Int
    /// Process CPU use over the last renewal interval, 0 to the number of cores.
    public var cpu: Double
    public var startedAt: Date
    /// A token the node's process made at start: two processes given one node id hold
    /// different ones, so a registry tells a restart from a second node
    /// (docs/architecture.md, "One node per id"). Empty in a lease written without one.
    public var incarnation: String
    /// How many times the process wrote its lease: a renewal always changes the lease, so a
    /// process waiting for it to lapse sees whether its holder still runs.
    public var renewal: UInt64

    public init(
        node: String, roles: Roles, state: State, tcpEndpoint: String?, webSocketEndpoint: String?,
        maxConnections: Int, connections: Int, sessions: Int, cpu: Double, startedAt: Date,
        incarnation: String = "", renewal: UInt64 = 0
    ) {
        self.node = node
        self.roles = roles
        self.state = state
        self.tcpEndpoint = tcpEndpoint
        self.webSocketEndpoint = webSocketEndpoint
        self.maxConnections = maxConnections
        self.connections = connections
        self.sessions = sessions
        self.cpu = cpu
        self.startedAt = startedAt
        self.incarnation = incarnation
        self.renewal = renewal
    }

    /// A new random incarnation: 128 bits in hexadecimal.
    public static func makeIncarnation() -> String {
        (0..<2).map { _ in
            let hex = String(UInt64.random(in: 0...UInt64.max), radix: 16)
            return String(repeating: "0", count: 16 - hex.count) + hex
        }.joined()
    }

    private enum CodingKeys: String, CodingKey {
        case node, roles, state, tcpEndpoint, webSocketEndpoint, maxConnections, connections, sessions, cpu, startedAt
        case incarnation, renewal
    }

    /// Reads a lease; one written by a node that predates incarnations has an empty one.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.node = try container.decode(String.self, forKey: .node)
        self.roles = try container.decode(Roles.self, forKey: .roles)
        self.state = try container.decode(State.self, forKey: .state)
        self.tcpEndpoint = try container.decodeIfPresent(String.self, forKey: .tcpEndpoint)
        self.webSocketEndpoint = try container.decodeIfPresent(String.self, forKey: .webSocketEndpoint)
        self.maxConnections = try container.decode(Int.self, forKey: .maxConnections)
        self.connections = try container.decode(Int.self, forKey: .connections)
        self.sessions = try container.decode(Int.self, forKey: .sessions)
        self.cpu = try container.decode(Double.self, forKey: .cpu)
        self.startedAt = try container.decode(Date.self, forKey: .startedAt)
        self.incarnation = try container.decodeIfPresent(String.self, forKey: .incarnation) ?? ""
        self.renewal = try container.decodeIfPresent(UInt64.self, forKey: .renewal) ?? 0
    }
}
