import HeraldWire
import Histogram
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Many bench clients in one process: each connection is a socket and a ``BenchConnection``
/// on one of the pool's ``BenchEventLoop``s (a thread each), with no task or channel per
/// connection. Each loop has one repeated task for heartbeats, ACK flushes and publishing its
/// stats (see ``snapshot()``).
///
/// Connection `i` is user `plan.user(at: i)`, lives on loop `i % loops`, binds source
/// address `plan.sourceAddresses[i % count]`, and connects to the target's endpoint or, in a
/// run spread over a cluster, to the node the plan assigns it.
public final class BenchClientPool: Sendable {
    private struct State {
        var prepared = false
        var closed = false
    }

    /// File descriptors kept free for everything else a worker opens (HTTP, pipes, logs).
    public static let reservedFileDescriptors = 1_000

    public let target: BenchTarget
    public let plan: ClientPlan
    /// How ``reconnectAll(rate:)`` retries.
    public let retryPolicy: BenchRetryPolicy
    private let loops: [BenchLoop]
    private let logger: Logger
    private let connectTimeout: TimeAmount
    private let setupTimeout: TimeAmount
    private let maximumPendingPerLoop: Int
    private let state = NIOLockedValueBox(State())

    /// A pool for `plan` against `target` on `threads` event loops of its own, whose threads
    /// run until the pool is released. Nothing connects before ``connectAll()``.
    ///
    /// - Parameters:
    ///   - threads: event loops (threads) the connections are spread over; at least one.
    ///   - scheduling: the Linux scheduling policy of those threads.
    ///   - connectTimeout: how long a TCP connect may take.
    ///   - setupTimeout: how long an attempt may take from connect to ready (AUTH_OK, and OK
    ///     for the subscription).
    ///   - maximumPendingPerLoop: attempts each event loop keeps in progress at once, so that
    ///     "as fast as possible" does not overflow the server's accept queue (and then wait
    ///     for SYN retransmits, a second and more).
    public init(
        target: BenchTarget,
        plan: ClientPlan,
        threads: Int = System.coreCount,
        scheduling: ClientScheduling = .batch,
        logger: Logger,
        retryPolicy: BenchRetryPolicy = BenchRetryPolicy(),
        connectTimeout: Duration = .seconds(10),
        setupTimeout: Duration = .seconds(30),
        maximumPendingPerLoop: Int = 512
    ) throws(BenchPoolError) {
        self.maximumPendingPerLoop = max(1, maximumPendingPerLoop)
        self.target = target
        self.plan = plan
        self.logger = logger
        self.retryPolicy = retryPolicy
        self.connectTimeout = TimeAmount(connectTimeout)
        self.setupTimeout = TimeAmount(setupTimeout)
        #if os(Linux)
            var loops: [BenchLoop] = []
            do {
                for number in 0..<max(1, threads) {
                    let eventLoop = try BenchEventLoop.make(name: "bench-clients-\(number)", scheduling: scheduling)
                    loops.append(BenchLoop(eventLoop: eventLoop, logger: logger))
                }
            } catch {
                for loop in loops { loop.eventLoop.shutdownGracefully { _ in } }
                throw BenchPoolError("bench client loop: \(error)")
            }
            self.loops = loops
        #else
            throw BenchPoolError("the bench clients wait with epoll, which only Linux has")
        #endif
    }

    deinit {
        // Nothing can ask the loops for anything any more: their threads end, and close what
        // is still open (a pool dropped without ``close()``).
        for loop in self.loops { loop.eventLoop.shutdownGracefully { _ in } }
    }

    // MARK: Limits

    /// The most connections one process may open: its open-file limit (raised to the hard
    /// limit if it can be) less ``reservedFileDescriptors``.
    public static func connectionLimit() -> Int {
        #if canImport(Glibc)
            var limit = rlimit()
            let resource = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
            guard getrlimit(resource, &limit) == 0 else { return 0 }
            if limit.rlim_cur < limit.rlim_max {
                var raised = limit
                raised.rlim_cur = limit.rlim_max
                if setrlimit(resource, &raised) == 0 { limit = raised }
            }
            return max(0, Int(clamping: limit.rlim_cur) - Self.reservedFileDescriptors)
        #else
            var limit = rlimit()
            guard getrlimit(RLIMIT_NOFILE, &limit) == 0 else { return 0 }
            return max(0, Int(clamping: limit.rlim_cur) - Self.reservedFileDescriptors)
        #endif
    }

    /// Checks that this process can run `plan`: the connections fit under the open-file
    /// limit, and a WebSocket plan has a WebSocket URL. A pool refuses to connect otherwise.
    public static func validate(_ plan: ClientPlan, target: BenchTarget) throws(BenchPoolError) {
        guard plan.connections >= 0 else {
            throw BenchPoolError("a pool cannot have \(plan.connections) connections")
        }
        let limit = Self.connectionLimit()
        guard plan.connections <= limit else {
            throw BenchPoolError(
                "\(plan.connections) connections are more than one process may open here (\(limit): the open-file "
                    + "limit less \(Self.reservedFileDescriptors) kept for other files); spread them over more workers"
            )
        }
        if let nodes = plan.nodes, let problem = nodes.problem(connections: plan.connections) {
            throw BenchPoolError(problem)
        }
        if plan.transport == .webSocket {
            for endpoint in plan.endpoints(target: target) {
                guard let url = endpoint.webSocketURL else {
                    throw BenchPoolError(
                        endpoint.node.isEmpty
                            ? "a WebSocket plan needs the target's webSocketURL"
                            : "a WebSocket plan needs a WebSocket URL for node \(endpoint.node)")
                }
                _ = try Self.parseWebSocketURL(url)
            }
        }
    }

    // MARK: Connecting

    /// Opens every connection of the plan that is not open, paced at `plan.connectRate`, and
    /// returns when each is authenticated (and subscribed) or has failed. Failures are not
    /// retried here (see ``reconnectAll(rate:)``).
    public func connectAll() async -> ConnectOutcome {
        await self.connectAll(retrying: false)
    }

    /// ``connectAll()``, retrying refused and failed connections as ``reconnectAll(rate:)`` does
    /// when `retrying` is true.
    public func connectAll(retrying: Bool) async -> ConnectOutcome {
        await self.runPhase(rate: self.plan.connectRate, retrying: retrying)
    }

    /// Storm phase 2: opens every connection that is not open, at `rate` per second (0 = at
    /// once), retrying those refused with `server_busy` or that could not connect, with
    /// bounded backoff (``retryPolicy``). Retries are counted.
    public func reconnectAll(rate: Double) async -> ConnectOutcome {
        await self.runPhase(rate: rate, retrying: true)
    }

    private func runPhase(rate: Double, retrying: Bool) async -> ConnectOutcome {
        if self.state.withLockedValue({ $0.closed }) {
            return ConnectOutcome(error: "the pool is closed")
        }
        do {
            try await self.prepare()
        } catch {
            self.logger.error("bench pool cannot connect", metadata: ["bench.error": "\(error)"])
            return ConnectOutcome(attempted: self.plan.connections, failed: self.plan.connections, error: "\(error)")
        }

        let start = NIODeadline.now()
        var promises: [EventLoopPromise<ConnectOutcome>] = []
        var eligible: [Int] = []
        for loop in self.loops {
            let promise = loop.eventLoop.makePromise(of: ConnectOutcome.self)
            promises.append(promise)
            let count =
                (try? await loop.eventLoop.submit { loop.beginPhase(retrying: retrying, promise: promise) }.get()) ?? 0
            eligible.append(count)
        }
        let total = eligible.reduce(0, +)

        if rate <= 0 || total == 0 {
            for (loop, count) in zip(self.loops, eligible) {
                loop.eventLoop.execute { loop.launch(upTo: count) }
            }
        } else {
            // Open loop: by now `elapsed × rate` connections should have started.
            var due = 0
            while due < total {
                let elapsed = Double((NIODeadline.now() - start).nanoseconds) / 1e9
                let next = min(total, Int(elapsed * rate) + 1)
                if next > due {
                    due = next
                    for (loop, count) in zip(self.loops, eligible) where count > 0 {
                        let share = min(count, Int((Double(count) * Double(due) / Double(total)).rounded(.up)))
                        loop.eventLoop.execute { loop.launch(upTo: share) }
                    }
                }
                if due < total {
                    do {
                        try await Task.sleep(for: .milliseconds(2))
                    } catch {
                        // Cancelled: start the rest at once rather than spin.
                        for (loop, count) in zip(self.loops, eligible) {
                            loop.eventLoop.execute { loop.launch(upTo: count) }
                        }
                        break
                    }
                }
            }
        }

        var outcome = ConnectOutcome()
        for promise in promises {
            if let part = try? await promise.futureResult.get() {
                outcome.merge(part)
            }
        }
        outcome.seconds = Double((NIODeadline.now() - start).nanoseconds) / 1e9
        return outcome
    }

    /// Resolves the addresses and signs every connection's token, once.
    private func prepare() async throws {
        if self.state.withLockedValue({ $0.prepared }) { return }
        try Self.validate(self.plan, target: self.target)
        let endpoints = self.plan.endpoints(target: self.target)
        var addresses: [SocketAddress] = []
        var webSockets: [BenchLoop.WebSocketEndpoint] = []
        for endpoint in endpoints {
            switch self.plan.transport {
            case .tcp:
                addresses.append(try Self.address(host: endpoint.tcpHost, port: endpoint.tcpPort))
            case .webSocket:
                // validate(_:target:) saw that every endpoint has a WebSocket URL.
                let webSocket = try Self.parseWebSocketURL(endpoint.webSocketURL ?? "")
                addresses.append(try Self.address(host: webSocket.host, port: webSocket.port))
                webSockets.append(webSocket)
            }
        }
        let sources = try self.plan.sourceAddresses.map { try SocketAddress(ipAddress: $0, port: 0) }
        let machine = BenchConnectionStateMachine.Configuration(
            transport: self.plan.transport,
            topics: self.plan.topics,
            acknowledge: self.plan.acknowledge,
            heartbeatNanos: UInt64(max(0, self.plan.heartbeatSeconds)) * 1_000_000_000,
            setupTimeoutNanos: UInt64(self.setupTimeout.nanoseconds),
            connectTimeoutNanos: UInt64(self.connectTimeout.nanoseconds)
        )
        let setup = BenchLoop.Setup(
            addresses: addresses,
            sourceAddresses: sources,
            webSockets: webSockets,
            machine: machine,
            retry: self.retryPolicy,
            maximumPending: self.maximumPendingPerLoop
        )
        let loopCount = self.loops.count
        let plan = self.plan
        let target = self.target
        var prepared: [EventLoopFuture<Void>] = []
        for (position, loop) in self.loops.enumerated() {
            let indexes = Array(stride(from: position, to: plan.connections, by: loopCount))
            prepared.append(
                loop.eventLoop.submit { loop.prepare(setup: setup, indexes: indexes, plan: plan, target: target) })
        }
        for future in prepared { try await future.get() }
        self.state.withLockedValue { $0.prepared = true }
    }

    // MARK: Stats

    /// The pool's counters and latency histograms, as the loops last published them (at most
    /// 20 ms ago; see ``currentSnapshot()`` for an exact one). Takes one lock per loop.
    public func snapshot() -> PoolSnapshot {
        var snapshot = PoolSnapshot()
        for loop in self.loops {
            let published = loop.published.withLockedValue { $0 }
            published.counters.add(to: &snapshot)
            for kind in PushKind.allCases {
                let histogram = published.latency[Int(kind.rawValue)]
                guard histogram.totalCount > 0 else { continue }
                let name = PoolSnapshot.name(of: kind)
                if snapshot.latency[name] == nil {
                    snapshot.latency[name] = histogram
                } else {
                    snapshot.latency[name]?.add(histogram)
                }
            }
            snapshot.lastArrivalNanos = max(snapshot.lastArrivalNanos, published.lastArrivalNanos)
        }
        return snapshot
    }

    /// A snapshot with everything the loops have seen up to now: each loop publishes first.
    public func currentSnapshot() async -> PoolSnapshot {
        for loop in self.loops {
            try? await loop.eventLoop.submit { loop.publishNow() }.get()
        }
        return self.snapshot()
    }

    /// Clears the latency histograms (not the counters), for example after a warm-up.
    public func resetLatencies() {
        for loop in self.loops {
            loop.resetLatencies()
        }
    }

    // MARK: Closing

    /// Storm phase 1: closes every connection from this side and waits until all are closed.
    /// A connect phase in progress ends with what it has.
    public func dropAll() async {
        for loop in self.loops {
            try? await loop.eventLoop.submit { loop.dropAll() }.get()
        }
    }

    /// Closes every connection and stops the loops' timers. The pool cannot connect again.
    public func close() async {
        let alreadyClosed = self.state.withLockedValue { state in
            defer { state.closed = true }
            return state.closed
        }
        guard !alreadyClosed else { return }
        await self.dropAll()
        for loop in self.loops {
            try? await loop.eventLoop.submit { loop.stop() }.get()
        }
        // The loops' threads end with the pool (deinit), not here: a snapshot that another
        // task asks for while this runs still gets its answer from them.
    }

    // MARK: Addresses

    private static func address(host: String, port: Int) throws -> SocketAddress {
        if let address = try? SocketAddress(ipAddress: host, port: port) { return address }
        do {
            return try SocketAddress.makeAddressResolvingHost(host, port: port)
        } catch {
            throw BenchPoolError("cannot resolve \(host): \(error)")
        }
    }

    /// Splits `ws://host:port/path` (`wss` is not supported by the bench).
    static func parseWebSocketURL(_ url: String) throws(BenchPoolError) -> BenchLoop.WebSocketEndpoint {
        guard url.hasPrefix("ws://") else {
            throw BenchPoolError("WebSocket URL \(url) must start with ws:// (the bench does not speak TLS)")
        }
        let rest = url.dropFirst("ws://".count)
        let authority = rest.prefix { $0 != "/" }
        let path = rest.dropFirst(authority.count)
        var host = String(authority)
        var port = 80
        if let colon = authority.lastIndex(of: ":"), !authority.hasSuffix("]") {
            host = String(authority[..<colon])
            guard let parsed = Int(authority[authority.index(after: colon)...]), (1...65535).contains(parsed) else {
                throw BenchPoolError("WebSocket URL \(url) has a bad port")
            }
            port = parsed
        }
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty else { throw BenchPoolError("WebSocket URL \(url) has no host") }
        return BenchLoop.WebSocketEndpoint(host: host, port: port, path: path.isEmpty ? "/" : String(path))
    }
}
