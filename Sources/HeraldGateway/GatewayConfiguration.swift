import HeraldTLS
import HeraldWire

/// Settings of a ``Gateway``: where it listens and the limits it enforces.
public struct GatewayConfiguration: Sendable {
    /// The address both servers bind to.
    public var host: String
    /// The client TCP port; 0 binds any free port.
    public var tcpPort: Int
    /// The client WebSocket port; 0 binds any free port.
    public var webSocketPort: Int
    /// The only HTTP path that upgrades to WebSocket; other paths get 404.
    public var webSocketPath: String
    /// This node's id, sent in AUTH_OK and stored with each session.
    public var nodeID: String
    /// The largest frame `length` field accepted (65,536 by default; docs/protocol.md, "Frames").
    public var maxFrameLength: Int
    /// Seconds between client PINGs, sent in AUTH_OK; a connection silent for `2 × heartbeat + 10` s is closed.
    public var heartbeat: Int
    /// Time a connection has to get its first AUTH_OK.
    public var authTimeout: Duration
    /// Sessions one connection may carry.
    public var maxSessionsPerConnection: Int
    /// Topics one session may subscribe to.
    public var maxSubscriptionsPerSession: Int
    /// Connections this node accepts; more are answered `server_busy` and closed.
    public var maxConnections: Int
    /// Bytes queued for one connection before it is closed as a slow consumer.
    public var maxOutboundBytes: Int
    /// How long a drain may take before the remaining connections are closed outright.
    public var drainTimeout: Duration
    /// `retryAfterMs` in the GOAWAY `draining` sent at shutdown.
    public var drainRetryAfterMs: Int
    /// The resolution of the per-loop timing wheel (auth and idle timeouts).
    public var timerTick: Duration
    /// Server accept backlog.
    public var backlog: Int
    /// Connections one fan-out slice writes at most before its event loop serves other work.
    public var fanOutSliceConnections: Int
    /// Time one fan-out slice may hold its event loop (checked every 16 connections).
    public var fanOutSliceDuration: Duration
    /// How long an event loop rests between two fan-out slices: it serves its ready I/O and
    /// tasks then, and on a machine whose cores are shared the other threads get a turn.
    public var fanOutSlicePause: Duration
    /// Broadcasts and topic messages that may wait for an event loop's next fan-out pass; a
    /// message handed over past that waits for the running pass to end.
    public var fanOutQueueLimit: Int
    /// The largest frame `length` field accepted before the connection's first AUTH_OK
    /// (8 KiB by default; docs/protocol.md, "Frames"), so that an unauthenticated connection
    /// cannot make the node hold a large frame for the whole auth timeout.
    public var maxFrameLengthBeforeAuth: Int
    /// AUTHs whose token verified that one connection may make (16 by default, at most
    /// 65,534); more are answered `rate_limited`. Each loads a replay, a re-AUTH of the same
    /// device too. A refused token closes a connection without sessions and costs little.
    public var maxAuthAttemptsPerConnection: Int
    /// Open connections one source IP address may have; more are closed at accept (TCP) or
    /// answered 503 (WebSocket). 0, the default, is no limit: many clients share an address
    /// behind a carrier's or an office's NAT, so only the operator can choose the number.
    public var maxConnectionsPerAddress: Int
    /// Connections the node accepts per second, over every listener; more are refused as
    /// above. 0, the default, is no limit: a node that restarts is reconnected to by all its
    /// clients at once, whose backoff is what spreads them.
    public var maxAcceptsPerSecond: Int
    /// The TCP listener's TLS context; nil serves plain TCP.
    public var tcpTLS: ServerTLSContext?
    /// The WebSocket listener's TLS context (`wss://`); nil serves plain `ws://`.
    public var webSocketTLS: ServerTLSContext?

    /// Creates a configuration; every value has the protocol's default.
    public init(
        host: String = "0.0.0.0",
        tcpPort: Int = 7070,
        webSocketPort: Int = 7071,
        webSocketPath: String = "/ws",
        nodeID: String = "local",
        maxFrameLength: Int = Frame.defaultMaximumLength,
        heartbeat: Int = 30,
        authTimeout: Duration = .seconds(10),
        maxSessionsPerConnection: Int = 8,
        maxSubscriptionsPerSession: Int = 256,
        maxConnections: Int = 1_000_000,
        maxOutboundBytes: Int = 1 << 20,
        drainTimeout: Duration = .seconds(5),
        drainRetryAfterMs: Int = 1000,
        timerTick: Duration = .milliseconds(100),
        backlog: Int = 4096,
        fanOutSliceConnections: Int = 2048,
        fanOutSliceDuration: Duration = .milliseconds(1),
        fanOutSlicePause: Duration = .microseconds(100),
        fanOutQueueLimit: Int = 64,
        maxFrameLengthBeforeAuth: Int = 8 * 1024,
        maxAuthAttemptsPerConnection: Int = 16,
        maxConnectionsPerAddress: Int = 0,
        maxAcceptsPerSecond: Int = 0,
        tcpTLS: ServerTLSContext? = nil,
        webSocketTLS: ServerTLSContext? = nil
    ) {
        self.host = host
        self.tcpPort = tcpPort
        self.webSocketPort = webSocketPort
        self.webSocketPath = webSocketPath
        self.nodeID = nodeID
        self.maxFrameLength = maxFrameLength
        self.heartbeat = heartbeat
        self.authTimeout = authTimeout
        self.maxSessionsPerConnection = maxSessionsPerConnection
        self.maxSubscriptionsPerSession = maxSubscriptionsPerSession
        self.maxConnections = maxConnections
        self.maxOutboundBytes = maxOutboundBytes
        self.drainTimeout = drainTimeout
        self.drainRetryAfterMs = drainRetryAfterMs
        self.timerTick = timerTick
        self.backlog = backlog
        self.fanOutSliceConnections = fanOutSliceConnections
        self.fanOutSliceDuration = fanOutSliceDuration
        self.fanOutSlicePause = fanOutSlicePause
        self.fanOutQueueLimit = fanOutQueueLimit
        self.maxFrameLengthBeforeAuth = maxFrameLengthBeforeAuth
        self.maxAuthAttemptsPerConnection = maxAuthAttemptsPerConnection
        self.maxConnectionsPerAddress = maxConnectionsPerAddress
        self.maxAcceptsPerSecond = maxAcceptsPerSecond
        self.tcpTLS = tcpTLS
        self.webSocketTLS = webSocketTLS
    }

    /// Silence after which a connection is closed: `2 × heartbeat + 10` seconds.
    public var idleTimeout: Duration { .seconds(2 * self.heartbeat + 10) }
}
