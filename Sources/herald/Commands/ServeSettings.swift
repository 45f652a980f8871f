import HeraldCommandLine
import HeraldCore
import HeraldRedis
import HeraldTLS
import Logging

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The resolved configuration of `herald serve`.
struct ServeSettings: Sendable {
    var host: String
    var tcpPort: Int
    var webSocketPort: Int
    var apiPort: Int
    var dataDirectory: String
    /// "sqlite", or a PostgreSQL URL.
    var store: String
    var sweepInterval: Double
    var nodeID: String
    var heartbeat: Int
    var authTimeout: Double
    var maxConnections: Int
    var maxSessions: Int
    var maxFrame: Int
    var maxOutboundBytes: Int
    var maxBody: Int
    var drainTimeout: Double
    var publicHost: String
    var logLevel: String
    /// Gateway event loops; nil: one per core.
    var eventLoops: Int?
    /// The loops of NIO's shared group, which carry the Redis and PostgreSQL connections and,
    /// in cluster mode, run the node's Swift tasks; nil: one per core.
    var taskLoops: Int?
    var maxFrameBeforeAuth: Int = 8192
    var maxAuthPerConnection: Int = 16
    var replayReadRows: Int = InboxPage.replay.rows
    var replayReadBytes: Int = InboxPage.replay.bytes
    var maxConnectionsPerAddress: Int = 0
    var maxAcceptsPerSecond: Int = 0
    var apiHost: String
    var apiIdleTimeout: Double
    var apiHeadTimeout: Double
    var maxAPIConnections: Int
    var apiMaxHeaderBytes: Int
    var apiMaxHeaders: Int
    /// A file holding the admin key, read instead of `HERALD_ADMIN_KEY` and the data directory's.
    var adminKeyFile: String?
    /// A file holding the PostgreSQL password of `store`.
    var postgresPasswordFile: String?
    /// Each listener's certificate and key; nil serves it plain.
    var tcpTLS: TLSFiles?
    var webSocketTLS: TLSFiles?
    var apiTLS: TLSFiles?

    /// The listeners that serve TLS, as the ready line names them: `tcp,ws,api`, or nil.
    var tlsListeners: String? {
        let names = [("tcp", self.tcpTLS), ("ws", self.webSocketTLS), ("api", self.apiTLS)]
            .compactMap { $0.1 == nil ? nil : $0.0 }
        return names.isEmpty ? nil : names.joined(separator: ",")
    }

    /// The Redis URL of the cluster; nil on a single node.
    var redis: String? = nil
    /// The prefix of the cluster's Redis keys and channels.
    var redisNamespace = "herald"
    /// What the node runs; both except on a cluster node that says otherwise.
    var roles: NodeLease.Roles = .all
    /// Seconds a cluster node's lease lasts.
    var leaseTTL: Double = 10
    /// Whether the node id was made up at start (a cluster node without --node-id).
    var nodeIDGenerated = false

    var loggerLevel: Logger.Level {
        Logger.Level(rawValue: self.logLevel) ?? .info
    }

    func validate() throws {
        for (name, port) in [("--tcp-port", self.tcpPort), ("--ws-port", self.webSocketPort), ("--api-port", self.apiPort)] {
            guard (0...65_535).contains(port) else { throw CLIError("\(name) must be 0 to 65535, not \(port)") }
        }
        guard (1...3600).contains(self.heartbeat) else { throw CLIError("--heartbeat must be 1 to 3600 seconds") }
        guard self.authTimeout > 0, self.authTimeout <= 3600 else {
            throw CLIError("--auth-timeout must be above 0 and at most 3600 seconds")
        }
        for (name, loops) in [("--event-loops", self.eventLoops), ("--task-loops", self.taskLoops)] {
            if let loops, !(1...256).contains(loops) { throw CLIError("\(name) must be 1 to 256, not \(loops)") }
        }
        guard self.maxConnections >= 1 else { throw CLIError("--max-connections must be at least 1") }
        guard (1...Int(UInt16.max)).contains(self.maxSessions) else { throw CLIError("--max-sessions must be 1 to 65535") }
        guard (64...16_777_216).contains(self.maxFrame) else { throw CLIError("--max-frame must be 64 to 16777216") }
        guard self.maxOutboundBytes >= 1024 else { throw CLIError("--max-outbound-bytes must be at least 1024") }
        guard self.maxBody >= 1024 else { throw CLIError("--max-body must be at least 1024") }
        guard self.drainTimeout >= 0, self.drainTimeout <= 600 else { throw CLIError("--drain-timeout must be 0 to 600 seconds") }
        guard self.sweepInterval >= 0.05, self.sweepInterval <= 86_400 else {
            throw CLIError("--sweep-interval must be 0.05 to 86400 seconds")
        }
        guard self.usesPostgres || self.store == "sqlite" else {
            throw CLIError("--store must be \"sqlite\" or a postgres:// URL")
        }
        guard Logger.Level(rawValue: self.logLevel) != nil else { throw CLIError("unknown --log-level \(self.logLevel)") }
        guard !self.nodeID.isEmpty, self.nodeID.utf8.count <= 128 else { throw CLIError("--node-id must be 1 to 128 bytes") }
        guard (64...self.maxFrame).contains(self.maxFrameBeforeAuth) else {
            throw CLIError("--max-frame-before-auth must be 64 to --max-frame (\(self.maxFrame))")
        }
        guard (1...65_534).contains(self.maxAuthPerConnection) else {
            throw CLIError("--max-auth-per-connection must be 1 to 65534")
        }
        guard self.replayReadRows >= 1 else { throw CLIError("--replay-read-rows must be 1 or more") }
        guard self.replayReadBytes >= 1 else { throw CLIError("--replay-read-bytes must be 1 or more") }
        guard self.maxConnectionsPerAddress >= 0 else { throw CLIError("--max-connections-per-address must be 0 or more") }
        guard self.maxAcceptsPerSecond >= 0 else { throw CLIError("--max-accepts-per-second must be 0 or more") }
        try self.validateAPILimits()
        if self.postgresPasswordFile != nil, !self.usesPostgres {
            throw CLIError("--postgres-password-file needs a postgres:// URL in --store")
        }
        try self.validateCluster()
    }

    private func validateCluster() throws {
        guard let redis = self.redis else {
            guard self.roles == .all else { throw CLIError("--roles needs --redis: a single node runs both roles") }
            return
        }
        let schemes = RedisConfiguration.schemes + [RedisClusterConfiguration.scheme]
        guard schemes.contains(where: { redis.hasPrefix($0) }) else {
            throw CLIError("--redis must be a redis://, rediss:// (TLS) or redis+cluster:// URL")
        }
        guard self.usesPostgres else {
            throw CLIError(
                "a cluster node (--redis) needs PostgreSQL in --store: the SQLite store is one node's alone"
            )
        }
        guard !self.redisNamespace.isEmpty, self.redisNamespace.utf8.count <= 64 else {
            throw CLIError("--redis-namespace must be 1 to 64 bytes")
        }
        guard self.leaseTTL >= 0.3, self.leaseTTL <= 3600 else {
            throw CLIError("--lease-ttl must be 0.3 to 3600 seconds")
        }
    }

    /// Parses `--roles`: `gateway`, `api`, or both, separated by commas.
    static func parseRoles(_ text: String) throws -> NodeLease.Roles {
        var roles: NodeLease.Roles = []
        for name in text.split(separator: ",") {
            switch name.filter({ $0 != " " }) {
            case "gateway": roles.insert(.gateway)
            case "api": roles.insert(.api)
            default: throw CLIError("--roles takes gateway, api or both, not \"\(name)\"")
            }
        }
        guard !roles.isEmpty else { throw CLIError("--roles takes gateway, api or both") }
        return roles
    }

    /// Whether the node holds client connections.
    var runsGateway: Bool { self.roles.contains(.gateway) }

    /// Whether the node serves the HTTP API.
    var runsAPI: Bool { self.roles.contains(.api) }

    private func validateAPILimits() throws {
        guard self.apiIdleTimeout > 0, self.apiIdleTimeout <= 86_400 else {
            throw CLIError("--api-idle-timeout must be above 0 and at most 86400 seconds")
        }
        guard self.apiHeadTimeout > 0, self.apiHeadTimeout <= 3600 else {
            throw CLIError("--api-head-timeout must be above 0 and at most 3600 seconds")
        }
        guard self.maxAPIConnections >= 1 else { throw CLIError("--max-api-connections must be at least 1") }
        guard (1024...1_048_576).contains(self.apiMaxHeaderBytes) else {
            throw CLIError("--api-max-header-bytes must be 1024 to 1048576")
        }
        guard (8...10_000).contains(self.apiMaxHeaders) else { throw CLIError("--api-max-headers must be 8 to 10000") }
    }

    /// Whether `store` names a PostgreSQL server.
    var usesPostgres: Bool {
        self.store.hasPrefix("postgres://") || self.store.hasPrefix("postgresql://")
    }

    /// A fresh id for a cluster node started without one.
    static func randomNodeID() -> String {
        var generator = SystemRandomNumberGenerator()
        let suffix = (0..<8).map { _ in String(UInt8.random(in: 0...15, using: &generator), radix: 16) }.joined()
        return "node-\(suffix)"
    }

    static func defaultNodeID() -> String {
        let name = ProcessInfo.processInfo.hostName
        return name.isEmpty ? "node-1" : name
    }
}
