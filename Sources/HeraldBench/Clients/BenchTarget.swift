/// Where a bench drives load: a Herald node's client ports and its HTTP API, and the app to use.
public struct BenchTarget: Sendable, Codable, Hashable {
    /// Host of the client TCP port (an IP address or a name).
    public var tcpHost: String
    /// The client TCP port.
    public var tcpPort: Int
    /// The WebSocket endpoint, for example `ws://127.0.0.1:7071/ws`; needed for WebSocket plans.
    public var webSocketURL: String?
    /// The API, for example `http://127.0.0.1:8080`.
    public var apiBaseURL: String
    /// The app the bench's users belong to.
    public var app: String
    /// The app's secret: signs client tokens and authorizes API calls.
    public var secret: String

    public init(tcpHost: String, tcpPort: Int, webSocketURL: String?, apiBaseURL: String, app: String, secret: String) {
        self.tcpHost = tcpHost
        self.tcpPort = tcpPort
        self.webSocketURL = webSocketURL
        self.apiBaseURL = apiBaseURL
        self.app = app
        self.secret = secret
    }
}
