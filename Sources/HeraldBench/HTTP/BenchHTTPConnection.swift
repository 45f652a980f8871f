import NIOCore
import NIOPosix

/// One keep-alive HTTP/1.1 connection of a ``BenchHTTPLoad``: it writes requests (pipelined),
/// matches answers to them in order, reconnects when the server closes, and runs its share
/// of a load run, paced on its event loop.
///
/// `@unchecked Sendable`: every mutable property is touched only on `eventLoop`; the load
/// hands work to it with `execute`/`submit`/`flatSubmit`.
final class BenchHTTPConnection: @unchecked Sendable {
    typealias Answer = (status: Int, body: ByteBuffer)

    private enum Pending {
        case call(EventLoopPromise<Answer>)
        /// A request of a load run, due at `intended` (monotonic nanoseconds).
        case load(intended: UInt64)
    }

    /// This connection's share of a load run.
    private final class LoadRun {
        let start: UInt64
        let deadline: UInt64
        /// Requests per second on this connection; 0 is a closed loop.
        let rate: Double
        let maximumInFlight: Int
        let request: @Sendable (Int) -> (path: String, body: ByteBuffer)
        let firstIndex: Int
        let stride: Int
        let promise: EventLoopPromise<HTTPLoadReport>
        var issued = 0
        var stopped = false
        var lastAnswer: UInt64 = 0
        var report = HTTPLoadReport()
        var statuses: [Int: Int] = [:]
        var pacer: RepeatedTask?
        var drainTimeout: Scheduled<Void>?

        init(
            start: UInt64, deadline: UInt64, rate: Double, maximumInFlight: Int, firstIndex: Int, stride: Int,
            request: @escaping @Sendable (Int) -> (path: String, body: ByteBuffer),
            promise: EventLoopPromise<HTTPLoadReport>
        ) {
            self.start = start
            self.deadline = deadline
            self.rate = rate
            self.maximumInFlight = maximumInFlight
            self.firstIndex = firstIndex
            self.stride = stride
            self.request = request
            self.promise = promise
        }
    }

    /// How often an open-loop run checks what is due.
    static let paceInterval = TimeAmount.milliseconds(1)
    /// How long a finished run waits for answers still out.
    static let drainTimeout = TimeAmount.seconds(10)

    let eventLoop: any EventLoop
    private let address: SocketAddress
    /// `" HTTP/1.1\r\nHost: ...\r\nAuthorization: ...\r\nContent-Type: application/json\r\nContent-Length: "`
    private let headTail: ByteBuffer

    private var channel: (any Channel)?
    private var connecting = false
    private var closed = false
    /// Requests written while connecting, in order.
    private var queued: [ByteBuffer] = []
    private var inFlight = CircularBuffer<Pending>(initialCapacity: 64)
    private var loadInFlight = 0
    private var run: LoadRun?

    init(eventLoop: any EventLoop, address: SocketAddress, hostHeader: String, bearer: String) {
        self.eventLoop = eventLoop
        self.address = address
        self.headTail = ByteBuffer(
            string: " HTTP/1.1\r\nHost: \(hostHeader)\r\nAuthorization: Bearer \(bearer)\r\n"
                + "Content-Type: application/json\r\nContent-Length: "
        )
    }

    // MARK: Single calls

    /// Sends one request (a POST unless `method` says otherwise) and answers with the response.
    func call(method: StaticString = "POST", path: String, body: ByteBuffer) -> EventLoopFuture<Answer> {
        self.eventLoop.assertInEventLoop()
        let promise = self.eventLoop.makePromise(of: Answer.self)
        guard !self.closed else {
            promise.fail(BenchHTTPError("the HTTP load is closed"))
            return promise.futureResult
        }
        self.send(self.encode(method: method, path: path, body: body), pending: .call(promise))
        self.flush()
        return promise.futureResult
    }

    // MARK: Load runs

    /// Runs this connection's share of a load: `rate` requests per second (0: as many as
    /// `maximumInFlight` allows) from `start` until `deadline` (monotonic nanoseconds).
    func startLoad(
        start: UInt64,
        deadline: UInt64,
        rate: Double,
        maximumInFlight: Int,
        firstIndex: Int,
        stride: Int,
        request: @escaping @Sendable (Int) -> (path: String, body: ByteBuffer)
    ) -> EventLoopFuture<HTTPLoadReport> {
        self.eventLoop.assertInEventLoop()
        let promise = self.eventLoop.makePromise(of: HTTPLoadReport.self)
        guard self.run == nil, !self.closed else {
            promise.succeed(HTTPLoadReport())
            return promise.futureResult
        }
        let run = LoadRun(
            start: start,
            deadline: deadline,
            rate: rate,
            maximumInFlight: max(1, maximumInFlight),
            firstIndex: firstIndex,
            stride: stride,
            request: request,
            promise: promise
        )
        self.run = run
        run.pacer = self.eventLoop.scheduleRepeatedTask(initialDelay: .zero, delay: Self.paceInterval) { _ in
            self.pace()
        }
        return promise.futureResult
    }

    private func pace() {
        guard let run = self.run, !run.stopped else { return }
        let now = Self.now()
        if now >= run.deadline {
            self.stopIssuing(run)
        } else {
            self.pump(now: now)
        }
    }

    /// Sends what is due (open loop) or what the in-flight cap allows (closed loop).
    private func pump(now: UInt64) {
        guard let run = self.run, !run.stopped, !self.closed else { return }
        // An answer may come after the deadline before the pacer's tick does: nothing more
        // is due then (a late tick let a loaded run send past its duration).
        guard now < run.deadline else {
            self.stopIssuing(run)
            return
        }
        var wrote = false
        while self.loadInFlight < run.maximumInFlight {
            let intended: UInt64
            if run.rate > 0 {
                guard now >= run.start else { break }
                let due = Int(Double(now - run.start) * run.rate / 1e9) + 1
                guard run.issued < due else { break }
                intended = run.start &+ UInt64(Double(run.issued) / run.rate * 1e9)
            } else {
                intended = now
            }
            let (path, body) = run.request(run.firstIndex + run.issued * run.stride)
            run.issued += 1
            run.report.sent += 1
            self.loadInFlight += 1
            self.send(self.encode(path: path, body: body), pending: .load(intended: intended))
            wrote = true
        }
        if wrote { self.flush() }
    }

    private func stopIssuing(_ run: LoadRun) {
        run.stopped = true
        run.pacer?.cancel()
        run.pacer = nil
        if self.loadInFlight == 0 {
            self.finish(run, now: Self.now())
        } else {
            let id = ObjectIdentifier(run)
            run.drainTimeout = self.eventLoop.scheduleTask(in: Self.drainTimeout) {
                guard let run = self.run, ObjectIdentifier(run) == id else { return }
                // Answers that never came are failures.
                run.report.failed += self.loadInFlight
                run.statuses[-1, default: 0] += self.loadInFlight
                self.finish(run, now: Self.now())
            }
        }
    }

    private func finish(_ run: LoadRun, now: UInt64) {
        guard self.run === run else { return }
        self.run = nil
        run.pacer?.cancel()
        run.drainTimeout?.cancel()
        let end = run.lastAnswer > 0 ? run.lastAnswer : now
        run.report.seconds = Double(end &- run.start) / 1e9
        for (status, count) in run.statuses {
            let name: String
            switch status {
            case -1: name = "timeout"
            case 0: name = "error"
            default: name = String(status)
            }
            run.report.statuses[name, default: 0] += count
        }
        run.promise.succeed(run.report)
    }

    // MARK: Answers

    /// The handler parsed a response: it answers the oldest request.
    func responseReceived(status: Int, body: ByteBuffer) {
        self.eventLoop.assertInEventLoop()
        guard let pending = self.inFlight.popFirst() else { return }
        switch pending {
        case .call(let promise):
            promise.succeed((status, body))
        case .load(let intended):
            self.loadInFlight -= 1
            guard let run = self.run else { return }
            let now = Self.now()
            run.lastAnswer = now
            LatencyHistogram.record(now > intended ? (now - intended) / 1_000 : 0, in: &run.report.latency)
            run.statuses[status, default: 0] += 1
            if (200..<300).contains(status) {
                run.report.succeeded += 1
            } else {
                run.report.failed += 1
            }
            if run.stopped {
                if self.loadInFlight == 0 { self.finish(run, now: now) }
            } else {
                self.pump(now: now)
            }
        }
    }

    /// The channel closed: whatever was in flight on it is lost.
    func channelClosed(_ channel: any Channel) {
        self.eventLoop.assertInEventLoop()
        guard self.channel === channel else { return }
        self.channel = nil
        self.failInFlight(BenchHTTPError("the API closed the connection"))
    }

    private func failInFlight(_ error: BenchHTTPError) {
        let lost = self.inFlight
        self.inFlight.removeAll(keepingCapacity: true)
        self.queued.removeAll(keepingCapacity: true)
        var lostLoad = 0
        for pending in lost {
            switch pending {
            case .call(let promise): promise.fail(error)
            case .load: lostLoad += 1
            }
        }
        self.loadInFlight -= lostLoad
        guard lostLoad > 0, let run = self.run else { return }
        run.report.failed += lostLoad
        run.statuses[0, default: 0] += lostLoad
        if run.stopped, self.loadInFlight == 0 {
            self.finish(run, now: Self.now())
        }
    }

    // MARK: Writing

    private func encode(method: StaticString = "POST", path: String, body: ByteBuffer) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.reserveCapacity(8 + path.utf8.count + self.headTail.readableBytes + 16 + body.readableBytes)
        buffer.writeStaticString(method)
        buffer.writeStaticString(" ")
        buffer.writeString(path)
        buffer.writeImmutableBuffer(self.headTail)
        buffer.writeString(String(body.readableBytes))
        buffer.writeStaticString("\r\n\r\n")
        buffer.writeImmutableBuffer(body)
        return buffer
    }

    private func send(_ request: ByteBuffer, pending: Pending) {
        self.inFlight.append(pending)
        if let channel = self.channel {
            channel.write(request, promise: nil)
        } else {
            self.queued.append(request)
            self.connect()
        }
    }

    private func flush() {
        self.channel?.flush()
    }

    private func connect() {
        guard !self.connecting, self.channel == nil, !self.closed else { return }
        self.connecting = true
        ClientBootstrap(group: self.eventLoop)
            .connectTimeout(.seconds(10))
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(BenchHTTPHandler(connection: self))
                }
            }
            .connect(to: self.address)
            .whenComplete { result in
                self.connecting = false
                switch result {
                case .success(let channel):
                    guard !self.closed else {
                        channel.close(promise: nil)
                        self.failInFlight(BenchHTTPError("the HTTP load is closed"))
                        return
                    }
                    self.channel = channel
                    let queued = self.queued
                    self.queued.removeAll(keepingCapacity: true)
                    for request in queued { channel.write(request, promise: nil) }
                    channel.flush()
                case .failure(let error):
                    self.failInFlight(BenchHTTPError("cannot connect to the API: \(error)"))
                }
            }
    }

    // MARK: Closing

    /// Closes the connection; a run in progress ends with what it has.
    func close() -> EventLoopFuture<Void> {
        self.eventLoop.assertInEventLoop()
        self.closed = true
        if let run = self.run {
            run.stopped = true
            self.finish(run, now: Self.now())
        }
        guard let channel = self.channel else {
            self.failInFlight(BenchHTTPError("the HTTP load is closed"))
            return self.eventLoop.makeSucceededVoidFuture()
        }
        channel.close(promise: nil)
        return channel.closeFuture
    }

    static func now() -> UInt64 {
        NIODeadline.now().uptimeNanoseconds
    }
}
