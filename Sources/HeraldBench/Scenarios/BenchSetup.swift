#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Finds out what to drive before a run: the app (made with the admin key when none is
/// given) and the gateway's client endpoints (asked of `/v1/dispatch` when not given).
public enum BenchSetup {
    /// The target for a run.
    ///
    /// - Parameters:
    ///   - api: the API base URL.
    ///   - app: the app id; with `secret`, used as is. Without, an app `bench-<random>` is made
    ///     with `adminKey` (a large inbox bound, so that QoS 1 runs are not cut short).
    ///   - tcp: `host:port` of the client TCP port, else from `/v1/dispatch`.
    ///   - webSocket: `ws://host:port/ws`, else from `/v1/dispatch`.
    public static func resolve(
        api: String,
        app: String?,
        secret: String?,
        adminKey: String?,
        tcp: String?,
        webSocket: String?
    ) async throws -> BenchTarget {
        let http = ControlHTTP(baseURL: api)
        let appID: String
        let appSecret: String
        if let app, let secret {
            appID = app
            appSecret = secret
        } else if app != nil || secret != nil {
            throw BenchError("give both --app and --secret, or neither (and --admin-key to make a bench app)")
        } else {
            guard let adminKey else {
                throw BenchError("give --app and --secret, or --admin-key to make a bench app")
            }
            appID = "bench-" + Self.randomSuffix()
            let answer = try await http.expectOK(
                "POST",
                "/v1/apps",
                bearer: adminKey,
                body: ["id": appID, "policy": ["inboxLimit": 100_000] as [String: any Sendable]]
            )
            guard let secret = answer["secret"] as? String else {
                throw BenchError("POST /v1/apps answered no secret")
            }
            appSecret = secret
        }

        var tcpEndpoint = tcp
        var webSocketURL = webSocket
        if tcpEndpoint == nil || webSocketURL == nil {
            let answer = try await http.expectOK("GET", "/v1/dispatch?app=\(appID)", bearer: nil)
            let endpoint = (answer["endpoints"] as? [[String: Any]])?.first
            if tcpEndpoint == nil { tcpEndpoint = endpoint?["tcp"] as? String }
            if webSocketURL == nil { webSocketURL = endpoint?["ws"] as? String }
        }
        guard let tcpEndpoint else { throw BenchError("no client TCP endpoint: give --tcp host:port") }
        let (host, port) = try Self.hostAndPort(tcpEndpoint)
        return BenchTarget(
            tcpHost: host,
            tcpPort: port,
            webSocketURL: webSocketURL,
            apiBaseURL: api,
            app: appID,
            secret: appSecret
        )
    }

    /// `host:port`, the host possibly in brackets.
    static func hostAndPort(_ text: String) throws -> (String, Int) {
        do {
            return try BenchFleet.parse(agent: text)
        } catch {
            throw BenchError("an endpoint is host:port, not \"\(text)\"")
        }
    }

    private static func randomSuffix() -> String {
        var generator = SystemRandomNumberGenerator()
        let value = generator.next() as UInt64
        return String(value, radix: 36)
    }
}
