import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// A minimal HTTP/1.1 client for driving Herald's API hard: `connections` keep-alive
/// connections spread over the group's event loops, requests written pipelined, answers
/// matched in order. Open-loop runs are paced on the event loops and measure latency from
/// when each request was due, so a slow server cannot hide its queueing (no coordinated
/// omission).
public final class BenchHTTPLoad: Sendable {
    /// Requests one connection may have unanswered in an open-loop run.
    public let maximumInFlight: Int
    /// Requests one connection keeps unanswered in a closed-loop run (`rate` 0).
    public let pipelining: Int
    private let connections: [BenchHTTPConnection]
    private let setupError: BenchHTTPError?
    private let nextConnection = NIOLockedValueBox(0)

    /// The API each connection pushes to: connection `i` to `apiBaseURLs[connectionAPIs[i]]`.
    public let connectionAPIs: [Int]

    /// - Parameters:
    ///   - apiBaseURL: `http://host:port` (a path after it is ignored).
    ///   - bearer: sent as `Authorization: Bearer` (the app secret, or the admin key).
    ///   - connections: keep-alive connections to open (on first use).
    ///   - pipelining: unanswered requests per connection in a closed-loop run.
    ///   - maximumInFlight: unanswered requests per connection in an open-loop run; more that
    ///     fall due wait (and their latency shows it).
    public convenience init(
        apiBaseURL: String,
        bearer: String,
        connections: Int,
        group: any EventLoopGroup,
        pipelining: Int = 1,
        maximumInFlight: Int = 1_024
    ) {
        self.init(
            apiBaseURLs: [apiBaseURL], bearer: bearer, connections: connections, group: group,
            pipelining: pipelining, maximumInFlight: maximumInFlight)
    }

    /// A load spread over several APIs (the nodes of a cluster): connection `i` goes to
    /// `apiBaseURLs[i % apiBaseURLs.count]`, and there are at least as many connections as APIs.
    ///
    /// The other parameters are those of ``init(apiBaseURL:bearer:connections:group:pipelining:maximumInFlight:)``.
    public init(
        apiBaseURLs: [String],
        bearer: String,
        connections: Int,
        group: any EventLoopGroup,
        pipelining: Int = 1,
        maximumInFlight: Int = 1_024
    ) {
        self.pipelining = max(1, pipelining)
        self.maximumInFlight = max(1, maximumInFlight)
        let count = max(1, connections, apiBaseURLs.count)
        do {
            guard !apiBaseURLs.isEmpty else { throw BenchHTTPError("no API to push to") }
            var targets: [(address: SocketAddress, hostHeader: String)] = []
            for apiBaseURL in apiBaseURLs {
                let (host, port) = try Self.parse(apiBaseURL)
                let address: SocketAddress
                do {
                    if let numeric = try? SocketAddress(ipAddress: host, port: port) {
                        address = numeric
                    } else {
                        address = try SocketAddress.makeAddressResolvingHost(host, port: port)
                    }
                } catch {
                    throw BenchHTTPError("cannot resolve \(apiBaseURL): \(error)")
                }
                targets.append((address, host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"))
            }
            self.connectionAPIs = (0..<count).map { $0 % targets.count }
            self.connections = self.connectionAPIs.map { api in
                BenchHTTPConnection(
                    eventLoop: group.next(), address: targets[api].address, hostHeader: targets[api].hostHeader,
                    bearer: bearer)
            }
            self.setupError = nil
        } catch {
            self.connectionAPIs = []
            self.connections = []
            self.setupError = error as? BenchHTTPError ?? BenchHTTPError("\(error)")
        }
    }

    /// The API (an index into the URLs the load was made with) that request `index` of a
    /// ``run(rate:duration:request:)`` goes to.
    public func api(ofRequest index: Int) -> Int {
        self.connectionAPIs.isEmpty ? 0 : self.connectionAPIs[index % self.connectionAPIs.count]
    }

    /// Sends one POST of a JSON `body` to `path` (for example `/v1/apps/demo/broadcasts`) on
    /// connection `connection` (default: the next, round-robin) and returns the answer, whatever
    /// its status.
    public func post(path: String, body: ByteBuffer, connection: Int? = nil) async throws -> (
        status: Int, body: ByteBuffer
    ) {
        try await self.call(method: "POST", path: path, body: body, connection: connection)
    }

    /// Sends one GET of `path` on the next connection and returns the answer, whatever its status.
    public func get(path: String) async throws -> (status: Int, body: ByteBuffer) {
        try await self.call(method: "GET", path: path, body: ByteBuffer(), connection: nil)
    }

    private func call(method: StaticString, path: String, body: ByteBuffer, connection chosen: Int?) async throws -> (
        status: Int, body: ByteBuffer
    ) {
        if let setupError = self.setupError { throw setupError }
        let index =
            chosen.map { $0 % self.connections.count }
            ?? self.nextConnection.withLockedValue { next in
                defer { next = (next + 1) % self.connections.count }
                return next
            }
        let connection = self.connections[index]
        let answer = try await connection.eventLoop.flatSubmit {
            connection.call(method: method, path: path, body: body)
        }.get()
        return (answer.status, answer.body)
    }

    /// Sends POSTs for `duration`: request `i` is `request(i)`. At `rate` requests per second
    /// over all connections, open loop (0: closed loop, each connection keeping ``pipelining``
    /// requests out). Waits for the answers (at most 10 s after the end) and reports.
    public func run(
        rate: Double,
        duration: Duration,
        request: @escaping @Sendable (Int) -> (path: String, body: ByteBuffer)
    ) async -> HTTPLoadReport {
        guard self.setupError == nil, !self.connections.isEmpty else {
            return HTTPLoadReport(statuses: ["error": 1])
        }
        let start = BenchHTTPConnection.now()
        let deadline = start + UInt64(TimeAmount(duration).nanoseconds)
        let count = self.connections.count
        let ratePerConnection = rate > 0 ? rate / Double(count) : 0
        let cap = rate > 0 ? self.maximumInFlight : self.pipelining
        var futures: [EventLoopFuture<HTTPLoadReport>] = []
        for (index, connection) in self.connections.enumerated() {
            // Each connection's schedule is offset by one aggregate interval from the one
            // before, so that the requests reach the server evenly spaced at `rate`, not in
            // bursts of one per connection.
            let offset = rate > 0 ? UInt64(Double(index) / rate * 1e9) : 0
            futures.append(
                connection.eventLoop.flatSubmit {
                    connection.startLoad(
                        start: start + offset,
                        deadline: deadline,
                        rate: ratePerConnection,
                        maximumInFlight: cap,
                        firstIndex: index,
                        stride: count,
                        request: request
                    )
                }
            )
        }
        var report = HTTPLoadReport()
        for future in futures {
            if let part = try? await future.get() {
                report.merge(part)
            }
        }
        return report
    }

    /// Closes every connection; runs in progress end with what they have.
    public func close() async {
        for connection in self.connections {
            try? await connection.eventLoop.flatSubmit { connection.close() }.get()
        }
    }

    /// `http://host:port[/...]` → host and port (80 when absent).
    static func parse(_ url: String) throws(BenchHTTPError) -> (host: String, port: Int) {
        guard url.hasPrefix("http://") else {
            throw BenchHTTPError("API URL \(url) must start with http:// (the bench does not speak TLS)")
        }
        let authority = url.dropFirst("http://".count).prefix { $0 != "/" }
        var host = String(authority)
        var port = 80
        if let colon = authority.lastIndex(of: ":"), !authority.hasSuffix("]") {
            host = String(authority[..<colon])
            guard let parsed = Int(authority[authority.index(after: colon)...]), (1...65535).contains(parsed) else {
                throw BenchHTTPError("API URL \(url) has a bad port")
            }
            port = parsed
        }
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty else { throw BenchHTTPError("API URL \(url) has no host") }
        return (host, port)
    }
}
