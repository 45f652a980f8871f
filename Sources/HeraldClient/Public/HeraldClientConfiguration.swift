import HeraldWire

/// How a ``HeraldClient`` connects, authenticates and reconnects.
public struct HeraldClientConfiguration: Sendable {
    /// The transport to the gateway.
    public enum Transport: Sendable, Hashable {
        /// A plain TCP connection (the gateway's default port is 7070).
        case tcp(host: String, port: Int)
        /// A TCP connection inside TLS, checked as ``HeraldClientConfiguration/tls`` says.
        case tls(host: String, port: Int)
        /// A WebSocket connection, `ws://host[:port][/path]` (the gateway's default is
        /// `ws://HOST:7071/ws`), or `wss://` for one inside TLS. Every binary message carries
        /// one frame.
        case webSocket(url: String)

        /// Parses an endpoint as `GET /v1/dispatch` hands it out: `host:port` or
        /// `tcp://host:port` (plain TCP), `tls://host:port`, or a `ws://` or `wss://` URL.
        /// Returns nil for anything else.
        public init?(endpoint: String) {
            let lowered = endpoint.lowercased()
            if lowered.hasPrefix("ws://") || lowered.hasPrefix("wss://") {
                guard WebSocketURL(endpoint) != nil else { return nil }
                self = .webSocket(url: endpoint)
                return
            }
            var address = Substring(endpoint)
            var secure = false
            if lowered.hasPrefix("tls://") {
                address = address.dropFirst("tls://".count)
                secure = true
            } else if lowered.hasPrefix("tcp://") {
                address = address.dropFirst("tcp://".count)
            }
            // Another scheme, or a path, is not an endpoint of the TCP listener.
            guard !address.contains("/"), let colon = address.lastIndex(of: ":"), let port = Int(address[address.index(after: colon)...]),
                (1...65_535).contains(port)
            else { return nil }
            var host = address[..<colon]
            if host.hasPrefix("[") && host.hasSuffix("]") { host = host.dropFirst().dropLast() }
            guard !host.isEmpty else { return nil }
            self = secure ? .tls(host: String(host), port: port) : .tcp(host: String(host), port: port)
        }
    }

    /// When QoS 1 pushes (those with `ACK_REQUIRED`) are acknowledged.
    public enum Acknowledgement: Sendable, Hashable {
        /// The client sends a cumulative ACK as soon as the consumer of ``HeraldClient/events``
        /// has received the push from the sequence (at-least-once up to the consumer).
        case automatic
        /// The app calls ``HeraldClient/acknowledge(_:)`` once it has processed a push
        /// (at-least-once up to the app's processing). ACKs are cumulative: acknowledging
        /// sequence N acknowledges every earlier one.
        case manual
    }

    /// The gateway to connect to.
    public var transport: Transport
    /// Returns the token for the next AUTH. Called before every connection attempt, so it can
    /// fetch a fresh token; if it throws, ``HeraldClient/run()`` ends with that error.
    public var tokenProvider: @Sendable () async throws -> String
    /// Cursors to send in the first AUTH (for example kept from a previous run); later AUTHs
    /// send the cursors the client tracked itself.
    public var resume: HeraldResumeCursors?
    /// Topics to subscribe to after every AUTH_OK, in addition to those subscribed with
    /// ``HeraldClient/subscribe(_:)``, which are also re-subscribed after a reconnect.
    public var topics: [String]
    /// Delays between connection attempts. Pass the `reconnect` object of `GET /v1/dispatch`
    /// through ``Backoff/init(baseMs:maxMs:jitter:)``.
    public var reconnect: Backoff
    /// The largest frame accepted from the server (value of the length field).
    public var maxFrameLength: Int
    /// How long SUBSCRIBE, UNSUBSCRIBE, UPSTREAM and AUTH wait for their answer.
    public var requestTimeout: Duration
    /// How long a TCP connect may take.
    public var connectTimeout: Duration
    /// When QoS 1 pushes are acknowledged.
    public var acknowledgement: Acknowledgement
    /// How the server of a `tls://` or `wss://` transport is checked.
    public var tls: HeraldClientTLS
    /// How many events may wait for the consumer of ``HeraldClient/events`` before the client
    /// stops reading from the socket (back-pressure reaches the server, nothing is dropped).
    public var eventBufferSize: Int

    /// Creates a configuration with a token provider, called before every connection attempt.
    public init(
        transport: Transport,
        tokenProvider: @escaping @Sendable () async throws -> String,
        resume: HeraldResumeCursors? = nil,
        topics: [String] = [],
        reconnect: Backoff = Backoff(),
        maxFrameLength: Int = 1 << 20,
        requestTimeout: Duration = .seconds(10),
        connectTimeout: Duration = .seconds(10),
        acknowledgement: Acknowledgement = .automatic,
        eventBufferSize: Int = 256,
        tls: HeraldClientTLS = HeraldClientTLS()
    ) {
        self.transport = transport
        self.tls = tls
        self.tokenProvider = tokenProvider
        self.resume = resume
        self.topics = topics
        self.reconnect = reconnect
        self.maxFrameLength = max(maxFrameLength, Frame.minimumLength)
        self.requestTimeout = requestTimeout
        self.connectTimeout = connectTimeout
        self.acknowledgement = acknowledgement
        self.eventBufferSize = max(eventBufferSize, 1)
    }

    /// Creates a configuration with a fixed token.
    public init(
        transport: Transport,
        token: String,
        resume: HeraldResumeCursors? = nil,
        topics: [String] = [],
        reconnect: Backoff = Backoff(),
        maxFrameLength: Int = 1 << 20,
        requestTimeout: Duration = .seconds(10),
        connectTimeout: Duration = .seconds(10),
        acknowledgement: Acknowledgement = .automatic,
        eventBufferSize: Int = 256,
        tls: HeraldClientTLS = HeraldClientTLS()
    ) {
        self.init(
            transport: transport,
            tokenProvider: { token },
            resume: resume,
            topics: topics,
            reconnect: reconnect,
            maxFrameLength: maxFrameLength,
            requestTimeout: requestTimeout,
            connectTimeout: connectTimeout,
            acknowledgement: acknowledgement,
            eventBufferSize: eventBufferSize,
            tls: tls
        )
    }
}
