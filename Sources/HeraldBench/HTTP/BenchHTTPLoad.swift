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

    /// - Parameters:
    ///   - apiBaseURL: `http://host:port` (a path after it is ignored).
    ///   - bearer: sent as `Authorization: Bearer` (the app secret, or the admin key).
    ///   - connections: keep-alive connections to open (on first use).
    ///   - pipelining: unanswered requests per connection in a closed-loop run.
    ///   - maximumInFlight: unanswered requests per connection in an open-loop run; more that
    ///     fall due wait (and their latency shows it).
    public init(
        apiBaseURL: String,
        bearer: String,
        connections: Int,
        group: any EventLoopGroup,
        pipelining: Int = 1,
        maximumInFlight: Int = 1_024
    ) {
        self.pipelining = max(1, pipelining)
        self.maximumInFlight = max(1, maximumInFlight)
        do {
            let (host, port) = try Self.parse(apiBaseURL)
            let address: SocketAddress
            if let numeric = try? SocketAddress(ipAddress: host, port: port) {
                address = numeric
            } else {
                address = try SocketAddress.makeAddressResolvingHost(host, port: port)
            }
            let hostHeader = host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
            self.connections = (0..<max(1, connections)).map { _ in
                BenchHTTPConnection(eventLoop: group.next(), address: address, hostHeader: hostHeader, bearer: bearer)
            }
            self.setupError = nil
        } catch {
            self.connections = []
            self.setupError = error as? BenchHTTPError ?? BenchHTTPError("cannot resolve \(apiBaseURL): \(error)")
        }
    }

    /// Sends one POST of a JSON `body` to `path` (for example `/v1/apps/demo/broadcasts`) on the
    /// next connection and returns the answer, whatever its status.
    public func post(path: String, body: ByteBuffer) async throws -> (status: Int, body: ByteBuffer) {
        if let setupError = self.setupError { throw setupError }
        let index = self.nextConnection.withLockedValue { next in
            defer { next = (next + 1) % self.connections.count }
            return next
        }
        let connection = self.connections[index]
        let answer = try await connection.eventLoop.flatSubmit { connection.call(path: path, body: body) }.get()
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
