#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// What a node's lease says about it: where clients and backends reach it, how loaded it
/// is, and whether it takes new clients.
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

    public init(
        node: String, roles: Roles, state: State, tcpEndpoint: String?, webSocketEndpoint: String?,
        maxConnections: Int, connections: Int, sessions: Int, cpu: Double, startedAt: Date
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
    }
}
