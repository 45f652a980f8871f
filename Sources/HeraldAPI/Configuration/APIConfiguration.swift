import HeraldTLS

/// Settings of the HTTP API: where it listens, its limits, and what `/v1/dispatch` hands out.
public struct APIConfiguration: Sendable {
    /// The address to bind.
    public var host: String
    /// The port to bind; 0 picks any free port (``APIServer/makeApplication(configuration:dependencies:logger:onServerRunning:)``
    /// reports the bound one).
    public var port: Int
    /// This node's id, as clients see it in AUTH_OK and dispatch answers.
    public var nodeID: String
    /// Largest request body; a larger one gets 413 `body_too_large`.
    public var maxRequestBodyBytes: Int
    /// The gateway's frame limit: a payload must fit one PUSH frame, so it is at most
    /// `maxFrameLength - 8 - 4 - topic bytes`, else 413 `payload_too_large`.
    public var maxFrameLength: Int
    /// Most messages in one `messages/batch` request.
    public var maxBatchMessages: Int
    /// Most users in one message.
    public var maxUsersPerMessage: Int
    /// Lifetime of a token when the request gives none.
    public var defaultTokenTTL: Duration
    /// Longest lifetime a token request may ask for.
    public var maxTokenTTL: Duration
    /// The gateway addresses `/v1/dispatch` hands out.
    public var dispatchEndpoints: [DispatchEndpoint]
    /// The backoff `/v1/dispatch` tells clients to use.
    public var reconnect: ReconnectPolicy
    /// How long a connection may sit between requests (or stall inside one) before it is closed.
    public var idleTimeout: Duration
    /// How long a new connection has to send its first complete request head.
    public var headTimeout: Duration
    /// Most connections open at once; the next one is answered 503 and closed.
    public var maxConnections: Int
    /// Largest request head (request line and header fields); a larger one gets 431.
    public var maxHeaderBytes: Int
    /// Most header fields in one request; more get 431.
    public var maxHeaderCount: Int
    /// Failed authentications a source address may make in a row before it gets 429.
    public var authFailureBurst: Int
    /// The time that gives an address limited for failed authentications one more try.
    public var authFailureRefillInterval: Duration
    /// Most source addresses tracked for failed authentications at once.
    public var authFailureMaxAddresses: Int
    /// The listener's TLS context (HTTPS); nil serves plain HTTP.
    public var tls: ServerTLSContext?

    /// Creates a configuration; every limit has a default.
    public init(
        host: String = "127.0.0.1",
        port: Int = 8080,
        nodeID: String,
        maxRequestBodyBytes: Int = 1 << 20,
        maxFrameLength: Int = 65536,
        maxBatchMessages: Int = 1000,
        maxUsersPerMessage: Int = 1000,
        defaultTokenTTL: Duration = .seconds(3600),
        maxTokenTTL: Duration = .seconds(7 * 24 * 3600),
        dispatchEndpoints: [DispatchEndpoint] = [],
        reconnect: ReconnectPolicy = ReconnectPolicy(),
        idleTimeout: Duration = .seconds(60),
        headTimeout: Duration = .seconds(10),
        maxConnections: Int = 1024,
        maxHeaderBytes: Int = 16 * 1024,
        maxHeaderCount: Int = 100,
        authFailureBurst: Int = 20,
        authFailureRefillInterval: Duration = .seconds(2),
        authFailureMaxAddresses: Int = 10_000,
        tls: ServerTLSContext? = nil
    ) {
        self.host = host
        self.port = port
        self.nodeID = nodeID
        self.maxRequestBodyBytes = maxRequestBodyBytes
        self.maxFrameLength = maxFrameLength
        self.maxBatchMessages = maxBatchMessages
        self.maxUsersPerMessage = maxUsersPerMessage
        self.defaultTokenTTL = defaultTokenTTL
        self.maxTokenTTL = maxTokenTTL
        self.dispatchEndpoints = dispatchEndpoints
        self.reconnect = reconnect
        self.idleTimeout = idleTimeout
        self.headTimeout = headTimeout
        self.maxConnections = maxConnections
        self.maxHeaderBytes = maxHeaderBytes
        self.maxHeaderCount = maxHeaderCount
        self.authFailureBurst = authFailureBurst
        self.authFailureRefillInterval = authFailureRefillInterval
        self.authFailureMaxAddresses = authFailureMaxAddresses
        self.tls = tls
    }

    /// The bounds on the messages of a request to a user or a batch.
    var messageLimits: MessageLimits {
        MessageLimits(
            maxBatchMessages: self.maxBatchMessages,
            maxUsersPerMessage: self.maxUsersPerMessage,
            maxPayloadBytes: self.maxPayloadBytes()
        )
    }

    /// Largest payload of a PUSH frame whose topic is `topicBytes` long.
    func maxPayloadBytes(topicBytes: Int = 0) -> Int {
        // length field counts 8 header bytes after it, then session (2), kind (1), topic length (1).
        self.maxFrameLength - 8 - 4 - topicBytes
    }
}
