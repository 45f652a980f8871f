import ArgumentParser
import HeraldCommandLine
import HeraldCore
import HeraldTLS

/// The flags of `herald serve`; each falls back to a `HERALD_*` variable, then a default.
struct ServeOptions: ParsableArguments {
    @Option(help: "Address the client gateway binds to [HERALD_HOST, default 0.0.0.0].")
    var host: String?

    @Option(name: .customLong("tcp-port"), help: "Client TCP port; 0 picks a free one [HERALD_TCP_PORT, default 7070].")
    var tcpPort: Int?

    @Option(name: .customLong("ws-port"), help: "Client WebSocket port (path /ws) [HERALD_WS_PORT, default 7071].")
    var webSocketPort: Int?

    @Option(name: .customLong("api-port"), help: "HTTP API port [HERALD_API_PORT, default 8080].")
    var apiPort: Int?

    @Option(name: .customLong("data-dir"), help: "Data directory [HERALD_DATA_DIR, default ./herald-data].")
    var dataDirectory: String?

    @Option(help: "Where messages and apps are kept: \"sqlite\" (a file in the data directory) or a postgres:// URL [HERALD_STORE, default sqlite].")
    var store: String?

    @Option(name: .customLong("sweep-interval"), help: "Seconds between purges of expired messages [HERALD_SWEEP_INTERVAL, default 30].")
    var sweepInterval: Double?

    @Option(name: .customLong("node-id"), help: "This node's name, unique in a cluster [HERALD_NODE_ID, default from the host name; with --redis, a random id].")
    var nodeID: String?

    @Option(help: "Seconds between client PINGs, told in AUTH_OK [HERALD_HEARTBEAT, default 30].")
    var heartbeat: Int?

    @Option(name: .customLong("auth-timeout"), help: "Seconds a connection has to authenticate [HERALD_AUTH_TIMEOUT, default 10].")
    var authTimeout: Double?

    @Option(name: .customLong("max-connections"), help: "Client connections this node accepts [HERALD_MAX_CONNECTIONS, default the open-file limit less 256].")
    var maxConnections: Int?

    @Option(name: .customLong("max-sessions"), help: "Sessions per connection [HERALD_MAX_SESSIONS, default 8].")
    var maxSessions: Int?

    @Option(name: .customLong("max-frame"), help: "Largest frame length accepted [HERALD_MAX_FRAME, default 65536].")
    var maxFrame: Int?

    @Option(name: .customLong("max-outbound-bytes"), help: "Bytes queued for a slow reader before it is closed [HERALD_MAX_OUTBOUND_BYTES, default 1048576].")
    var maxOutboundBytes: Int?

    @Option(name: .customLong("max-body"), help: "Largest HTTP request body [HERALD_MAX_BODY, default 1048576].")
    var maxBody: Int?

    @Option(name: .customLong("drain-timeout"), help: "Seconds to drain connections on SIGTERM [HERALD_DRAIN_TIMEOUT, default 5].")
    var drainTimeout: Double?

    @Option(name: .customLong("public-host"), help: "Host name handed to clients by /v1/dispatch [HERALD_PUBLIC_HOST, default the bind host, or 127.0.0.1 for 0.0.0.0].")
    var publicHost: String?

    @Option(name: .customLong("event-loops"), help: "Threads that serve client connections, each with its own listener and sessions [HERALD_EVENT_LOOPS, default one per core].")
    var eventLoops: Int?

    @Option(name: .customLong("task-loops"), help: "Threads of NIO's shared loops, which carry the Redis and PostgreSQL connections and, in cluster mode, run the node's tasks [HERALD_TASK_LOOPS, default one per core].")
    var taskLoops: Int?

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical [HERALD_LOG_LEVEL, default info].")
    var logLevel: String?

    @Option(name: .customLong("max-frame-before-auth"), help: "Largest frame length accepted before a connection's first AUTH_OK [HERALD_MAX_FRAME_BEFORE_AUTH, default 8192].")
    var maxFrameBeforeAuth: Int?

    @Option(name: .customLong("max-auth-per-connection"), help: "AUTHs with a valid token one connection may make [HERALD_MAX_AUTH_PER_CONNECTION, default 16].")
    var maxAuthPerConnection: Int?

    @Option(name: .customLong("replay-read-rows"), help: "Inbox messages a replay reads from the store at a time; the next read waits until these are written [HERALD_REPLAY_READ_ROWS, default 1000].")
    var replayReadRows: Int?

    @Option(name: .customLong("replay-read-bytes"), help: "Payload bytes a replay reads from the store at a time (at least one message) [HERALD_REPLAY_READ_BYTES, default 4194304].")
    var replayReadBytes: Int?

    @Option(name: .customLong("max-connections-per-address"), help: "Open client connections one IP address may have; 0 is no limit [HERALD_MAX_CONNECTIONS_PER_ADDRESS, default 0].")
    var maxConnectionsPerAddress: Int?

    @Option(name: .customLong("max-accepts-per-second"), help: "Client connections the node accepts per second; 0 is no limit [HERALD_MAX_ACCEPTS_PER_SECOND, default 0].")
    var maxAcceptsPerSecond: Int?
    @Option(name: .customLong("api-host"), help: "Address the HTTP API binds to [HERALD_API_HOST, default 127.0.0.1].")
    var apiHost: String?

    @Option(name: .customLong("api-idle-timeout"), help: "Seconds an API connection may sit idle before it is closed [HERALD_API_IDLE_TIMEOUT, default 60].")
    var apiIdleTimeout: Double?

    @Option(name: .customLong("api-head-timeout"), help: "Seconds a new API connection has to send a complete request head [HERALD_API_HEAD_TIMEOUT, default 10].")
    var apiHeadTimeout: Double?

    @Option(name: .customLong("max-api-connections"), help: "API connections open at once; the next one gets 503 [HERALD_MAX_API_CONNECTIONS, default 1024].")
    var maxAPIConnections: Int?

    @Option(name: .customLong("api-max-header-bytes"), help: "Largest API request head; a larger one gets 431 [HERALD_API_MAX_HEADER_BYTES, default 16384].")
    var apiMaxHeaderBytes: Int?

    @Option(name: .customLong("api-max-headers"), help: "Most header fields in an API request; more get 431 [HERALD_API_MAX_HEADERS, default 100].")
    var apiMaxHeaders: Int?

    @Option(name: .customLong("admin-key-file"), help: "File holding the admin key, at least 32 characters [HERALD_ADMIN_KEY_FILE, else HERALD_ADMIN_KEY, else <data-dir>/admin.key].")
    var adminKeyFile: String?

    @Option(name: .customLong("postgres-password-file"), help: "File holding the PostgreSQL password for a --store URL without one [HERALD_POSTGRES_PASSWORD_FILE].")
    var postgresPasswordFile: String?

    @Option(name: .customLong("tls-cert"), help: "PEM certificate chain every listener serves TLS with [HERALD_TLS_CERT; none: plain].")
    var tlsCert: String?

    @Option(name: .customLong("tls-key"), help: "PEM private key of --tls-cert [HERALD_TLS_KEY].")
    var tlsKey: String?

    @Option(name: .customLong("tcp-tls-cert"), help: "The TCP listener's own certificate, instead of --tls-cert [HERALD_TCP_TLS_CERT].")
    var tcpTLSCert: String?

    @Option(name: .customLong("tcp-tls-key"), help: "The TCP listener's own key [HERALD_TCP_TLS_KEY].")
    var tcpTLSKey: String?

    @Option(name: .customLong("ws-tls-cert"), help: "The WebSocket listener's own certificate (wss://) [HERALD_WS_TLS_CERT].")
    var webSocketTLSCert: String?

    @Option(name: .customLong("ws-tls-key"), help: "The WebSocket listener's own key [HERALD_WS_TLS_KEY].")
    var webSocketTLSKey: String?

    @Option(name: .customLong("api-tls-cert"), help: "The HTTP API's own certificate (https://) [HERALD_API_TLS_CERT].")
    var apiTLSCert: String?

    @Option(name: .customLong("api-tls-key"), help: "The HTTP API's own key [HERALD_API_TLS_KEY].")
    var apiTLSKey: String?

    @Option(help: "Redis that joins this node to a cluster: redis://[user:pass@]host:port, rediss://... over TLS (?cacert=FILE for its CA), or redis+cluster://host:port[,host:port...] [HERALD_REDIS, default none: a single node].")
    var redis: String?

    @Option(name: .customLong("redis-namespace"), help: "Prefix of the cluster's Redis keys and channels, so that several clusters can share one Redis [HERALD_REDIS_NAMESPACE, default herald].")
    var redisNamespace: String?

    @Option(help: "What this cluster node runs: gateway, api, or both [HERALD_ROLES, default gateway,api].")
    var roles: String?

    @Option(name: .customLong("lease-ttl"), help: "Seconds a cluster node's lease lasts without renewal [HERALD_LEASE_TTL, default 10].")
    var leaseTTL: Double?

    /// Every setting resolved and checked.
    func resolve() throws -> ServeSettings {
        let host = self.host ?? Environment.string("HERALD_HOST") ?? "0.0.0.0"
        let redis = self.redis ?? Environment.string("HERALD_REDIS")
        let givenNodeID = self.nodeID ?? Environment.string("HERALD_NODE_ID")
        let settings = ServeSettings(
            host: host,
            tcpPort: try self.tcpPort ?? Environment.int("HERALD_TCP_PORT") ?? 7070,
            webSocketPort: try self.webSocketPort ?? Environment.int("HERALD_WS_PORT") ?? 7071,
            apiPort: try self.apiPort ?? Environment.int("HERALD_API_PORT") ?? 8080,
            dataDirectory: self.dataDirectory ?? Environment.string("HERALD_DATA_DIR") ?? "./herald-data",
            store: self.store ?? Environment.string("HERALD_STORE") ?? "sqlite",
            sweepInterval: try self.sweepInterval ?? Environment.double("HERALD_SWEEP_INTERVAL") ?? 30,
            nodeID: givenNodeID ?? (redis == nil ? ServeSettings.defaultNodeID() : ServeSettings.randomNodeID()),
            heartbeat: try self.heartbeat ?? Environment.int("HERALD_HEARTBEAT") ?? 30,
            authTimeout: try self.authTimeout ?? Environment.double("HERALD_AUTH_TIMEOUT") ?? 10,
            maxConnections: try self.maxConnections ?? Environment.int("HERALD_MAX_CONNECTIONS")
                ?? DescriptorLimit.connections(allowedBy: DescriptorLimit.current),
            maxSessions: try self.maxSessions ?? Environment.int("HERALD_MAX_SESSIONS") ?? 8,
            maxFrame: try self.maxFrame ?? Environment.int("HERALD_MAX_FRAME") ?? 65_536,
            maxOutboundBytes: try self.maxOutboundBytes ?? Environment.int("HERALD_MAX_OUTBOUND_BYTES") ?? 1_048_576,
            maxBody: try self.maxBody ?? Environment.int("HERALD_MAX_BODY") ?? 1_048_576,
            drainTimeout: try self.drainTimeout ?? Environment.double("HERALD_DRAIN_TIMEOUT") ?? 5,
            publicHost: self.publicHost ?? Environment.string("HERALD_PUBLIC_HOST")
                ?? (host == "0.0.0.0" || host == "::" ? "127.0.0.1" : host),
            logLevel: self.logLevel ?? Environment.string("HERALD_LOG_LEVEL") ?? "info",
            eventLoops: try self.eventLoops ?? Environment.int("HERALD_EVENT_LOOPS"),
            taskLoops: try self.taskLoops ?? Environment.int("HERALD_TASK_LOOPS"),
            maxFrameBeforeAuth: try self.maxFrameBeforeAuth ?? Environment.int("HERALD_MAX_FRAME_BEFORE_AUTH") ?? 8192,
            maxAuthPerConnection: try self.maxAuthPerConnection ?? Environment.int("HERALD_MAX_AUTH_PER_CONNECTION")
                ?? 16,
            replayReadRows: try self.replayReadRows ?? Environment.int("HERALD_REPLAY_READ_ROWS") ?? InboxPage.replay.rows,
            replayReadBytes: try self.replayReadBytes ?? Environment.int("HERALD_REPLAY_READ_BYTES")
                ?? InboxPage.replay.bytes,
            maxConnectionsPerAddress: try self.maxConnectionsPerAddress
                ?? Environment.int("HERALD_MAX_CONNECTIONS_PER_ADDRESS") ?? 0,
            maxAcceptsPerSecond: try self.maxAcceptsPerSecond ?? Environment.int("HERALD_MAX_ACCEPTS_PER_SECOND") ?? 0,
            apiHost: self.apiHost ?? Environment.string("HERALD_API_HOST") ?? "127.0.0.1",
            apiIdleTimeout: try self.apiIdleTimeout ?? Environment.double("HERALD_API_IDLE_TIMEOUT") ?? 60,
            apiHeadTimeout: try self.apiHeadTimeout ?? Environment.double("HERALD_API_HEAD_TIMEOUT") ?? 10,
            maxAPIConnections: try self.maxAPIConnections ?? Environment.int("HERALD_MAX_API_CONNECTIONS") ?? 1024,
            apiMaxHeaderBytes: try self.apiMaxHeaderBytes ?? Environment.int("HERALD_API_MAX_HEADER_BYTES") ?? 16_384,
            apiMaxHeaders: try self.apiMaxHeaders ?? Environment.int("HERALD_API_MAX_HEADERS") ?? 100,
            adminKeyFile: self.adminKeyFile ?? Environment.string("HERALD_ADMIN_KEY_FILE"),
            postgresPasswordFile: self.postgresPasswordFile ?? Environment.string("HERALD_POSTGRES_PASSWORD_FILE"),
            tcpTLS: try self.tlsFiles(
                listener: "tcp", certificate: self.tcpTLSCert, key: self.tcpTLSKey, variable: "HERALD_TCP_TLS"),
            webSocketTLS: try self.tlsFiles(
                listener: "ws", certificate: self.webSocketTLSCert, key: self.webSocketTLSKey, variable: "HERALD_WS_TLS"),
            apiTLS: try self.tlsFiles(
                listener: "api", certificate: self.apiTLSCert, key: self.apiTLSKey, variable: "HERALD_API_TLS"),
            redis: redis,
            redisNamespace: self.redisNamespace ?? Environment.string("HERALD_REDIS_NAMESPACE") ?? "herald",
            roles: try ServeSettings.parseRoles(self.roles ?? Environment.string("HERALD_ROLES") ?? "gateway,api"),
            leaseTTL: try self.leaseTTL ?? Environment.double("HERALD_LEASE_TTL") ?? 10,
            nodeIDGenerated: givenNodeID == nil && redis != nil
        )
        try settings.validate()
        return settings
    }

    /// One listener's certificate and key: its own flags, else its `<variable>_CERT`/`_KEY`,
    /// else the shared ones; nil when it has no certificate (plain).
    private func tlsFiles(listener: String, certificate: String?, key: String?, variable: String) throws -> TLSFiles? {
        let certificate = certificate ?? Environment.string(variable + "_CERT") ?? self.tlsCert
            ?? Environment.string("HERALD_TLS_CERT")
        let key = key ?? Environment.string(variable + "_KEY") ?? self.tlsKey ?? Environment.string("HERALD_TLS_KEY")
        switch (certificate, key) {
        case (nil, nil):
            return nil
        case (let certificate?, let key?):
            return TLSFiles(certificate: certificate, key: key)
        case (nil, _?):
            throw CLIError("the \(listener) listener has a TLS key but no certificate: give --\(listener)-tls-cert or --tls-cert")
        case (_?, nil):
            throw CLIError("the \(listener) listener has a TLS certificate but no key: give --\(listener)-tls-key or --tls-key")
        }
    }
}
