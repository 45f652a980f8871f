import Foundation
import Glibc
import HeraldCore
import HeraldWire
import Logging
import NIOConcurrencyHelpers
import NIOCore
import Testing

@testable import HeraldBench

/// The bench clients' own event loop: tasks, timers, shutdown, and a connect that the
/// server's full accept queue holds up, whose first request waits for the socket.
@Suite("Bench event loop", .timeLimit(.minutes(1)))
struct BenchEventLoopTests {
    @Test func tasksRunOnTheLoopThread() async throws {
        let loop = try BenchEventLoop.make(name: "test-loop")
        #expect(!loop.inEventLoop)
        let inside = try await loop.submit { loop.inEventLoop }.get()
        #expect(inside)
        let sum = try await loop.submit { (1...10).reduce(0, +) }.get()
        #expect(sum == 55)
        // Tasks queued from the loop itself run after the one that queues them, in order.
        let order = try await loop.flatSubmit { () -> EventLoopFuture<[Int]> in
            let seen = NIOLockedValueBox<[Int]>([])
            let promise = loop.makePromise(of: [Int].self)
            for value in 1...3 { loop.execute { seen.withLockedValue { $0.append(value) } } }
            loop.execute { promise.succeed(seen.withLockedValue { $0 }) }
            seen.withLockedValue { $0.append(0) }
            return promise.futureResult
        }.get()
        #expect(order == [0, 1, 2, 3])
        try await loop.shutdownGracefully()
    }

    /// The policy field of the thread's /proc stat line (SCHED_OTHER 0, SCHED_BATCH 3), read on
    /// the loop's own thread.
    static func schedulingPolicy(of loop: BenchEventLoop) async throws -> Int? {
        try await loop.submit { () -> Int? in
            guard let stat = try? String(contentsOfFile: "/proc/thread-self/stat", encoding: .utf8),
                let close = stat.lastIndex(of: ")")
            else { return nil }
            // Fields after the name start with the third (state); policy is the 41st.
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            return fields.count > 38 ? Int(fields[38]) : nil
        }.get()
    }

    @Test func clientThreadsRunUnderTheSchedulingAsked() async throws {
        let batch = try BenchEventLoop.make(name: "test-batch")
        let normal = try BenchEventLoop.make(name: "test-normal", scheduling: .normal)
        #expect(try await Self.schedulingPolicy(of: batch) == 3)
        #expect(try await Self.schedulingPolicy(of: normal) == 0)
        // The creating thread keeps its own policy.
        #expect(sched_getscheduler(0) == 0)
        try await batch.shutdownGracefully()
        try await normal.shutdownGracefully()
    }

    @Test func timersRunInDeadlineOrderAndCanBeCancelled() async throws {
        let loop = try BenchEventLoop.make(name: "test-timers")
        let seen = NIOLockedValueBox<[Int]>([])
        let start = NIODeadline.now()
        let late = loop.scheduleTask(in: .milliseconds(60)) { seen.withLockedValue { $0.append(60) } }
        let early = loop.scheduleTask(in: .milliseconds(20)) { seen.withLockedValue { $0.append(20) } }
        let cancelled = loop.scheduleTask(in: .milliseconds(40)) { seen.withLockedValue { $0.append(40) } }
        cancelled.cancel()
        try await early.futureResult.get()
        try await late.futureResult.get()
        #expect(NIODeadline.now() - start >= .milliseconds(60))
        await #expect(throws: EventLoopError.cancelled) { try await cancelled.futureResult.get() }
        #expect(seen.withLockedValue { $0 } == [20, 60])

        let failing = loop.scheduleTask(in: .milliseconds(1)) { () throws -> Int in throw BenchPoolError("no") }
        await #expect(throws: BenchPoolError("no")) { try await failing.futureResult.get() }
        try await loop.shutdownGracefully()
    }

    @Test func shutdownFailsWhatIsStillScheduled() async throws {
        let loop = try BenchEventLoop.make(name: "test-stop")
        let pending = loop.scheduleTask(in: .seconds(60)) { 1 }
        // Callbacks run on the loop, so they are registered while it runs (as with NIO's
        // loops, a future of a loop that has ended cannot be waited for).
        let failure = NIOLockedValueBox<(any Error)?>(nil)
        try await loop.submit {
            pending.futureResult.whenFailure { error in failure.withLockedValue { $0 = error } }
        }.get()
        let ticks = NIOLockedValueBox(0)
        _ = loop.scheduleRepeatedTask(initialDelay: .milliseconds(5), delay: .milliseconds(5)) { _ in
            ticks.withLockedValue { $0 += 1 }
        }
        try await Task.sleep(for: .milliseconds(50))
        try await loop.shutdownGracefully()
        #expect(failure.withLockedValue { $0 } as? EventLoopError == .shutdown)
        #expect(ticks.withLockedValue { $0 } >= 2)
        // A second shutdown (a pool's deinit after its close) is harmless.
        try await loop.shutdownGracefully()
    }

    /// The server's accept queue is full, so the client's SYN is dropped and its connect
    /// stays in progress until the retransmit a second later: the AUTH written at once fails
    /// with EAGAIN, waits for the socket to become writable, and arrives whole once the
    /// connection is accepted; the server's AUTH_OK then makes the connection ready.
    @Test func aConnectHeldUpByAFullAcceptQueueStillSendsItsAuth() async throws {
        let listener = try RawListener()
        defer { listener.close() }
        // Backlog 0 holds one connection: this one fills it.
        let filler = try listener.connectBlocking()
        defer { _ = Glibc.close(filler) }

        let target = BenchTarget(
            tcpHost: "127.0.0.1", tcpPort: listener.port, webSocketURL: nil, apiBaseURL: "http://127.0.0.1:1",
            app: "app1", secret: "held-up-secret-held-up-secret-0123")
        let pool = try BenchClientPool(
            target: target, plan: ClientPlan(connections: 1, userPrefix: "held"), threads: 1,
            logger: Logger(label: "bench-test"))
        async let outcome = pool.connectAll()

        // Let the pool's SYN be dropped, then make room: the filler is taken off the queue.
        try await Task.sleep(for: .milliseconds(200))
        let accepted = try listener.accept(timeoutSeconds: 5)
        _ = Glibc.close(accepted)
        // A dropped SYN is sent again after 1, 3 and 7 s: 15 s cover a pool whose first SYN a
        // loaded machine held back.
        let client = try listener.accept(timeoutSeconds: 15)
        defer { _ = Glibc.close(client) }

        let bytes = try RawListener.read(client, atLeast: Frame.headerSize, timeoutSeconds: 5)
        var buffer = ByteBuffer(bytes: bytes)
        let frame = try #require(try FrameDecoder().next(from: &buffer))
        guard case .auth(let seq, let request) = try ClientMessage(frame) else {
            Issue.record("the first frame is not AUTH: \(frame)")
            await pool.close()
            return
        }
        #expect(seq == BenchConnectionStateMachine.authSeq)
        #expect(try Self.claims(of: request.token).sub == "held0")

        var answer = ByteBuffer()
        _ = ServerMessage.authOK(
            seq: seq,
            AuthOK(
                session: 1, app: "app1", user: "held0", device: "", heartbeat: 30, node: "n", epoch: "e",
                recovered: .init(inbox: true, broadcast: true))
        ).write(into: &answer)
        try RawListener.write(client, answer)

        let result = await outcome
        #expect(result.authenticated == 1)
        #expect(result.failed == 0)
        let snapshot = await pool.currentSnapshot()
        #expect(snapshot.connected == 1)
        #expect(snapshot.open == 1)
        await pool.close()
    }
}

extension BenchEventLoopTests {
    /// The claims of a JWT, unchecked.
    fileprivate static func claims(of token: String) throws -> TokenClaims {
        let parts = token.split(separator: ".")
        try #require(parts.count == 3)
        var base64 = parts[1].replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64 += "=" }
        let payload = try #require(Data(base64Encoded: base64))
        return try JSONDecoder().decode(TokenClaims.self, from: payload)
    }
}

/// A listening socket with a backlog of 0, driven by hand.
private struct RawListener {
    let descriptor: CInt
    let port: Int

    init() throws {
        let descriptor = socket(AF_INET, CInt(SOCK_STREAM.rawValue) | CInt(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { throw BenchPoolError("socket: \(errno)") }
        var address = Self.loopback(port: 0)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, length) }
        }
        guard bound == 0, listen(descriptor, 0) == 0 else { throw BenchPoolError("bind/listen: \(errno)") }
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
        }
        self.descriptor = descriptor
        self.port = Int(UInt16(bigEndian: address.sin_port))
    }

    /// 127.0.0.1:`port`.
    private static func loopback(port: Int) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        return address
    }

    func connectBlocking() throws -> CInt {
        let client = socket(AF_INET, CInt(SOCK_STREAM.rawValue) | CInt(SOCK_CLOEXEC.rawValue), 0)
        var address = Self.loopback(port: self.port)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(client, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else { throw BenchPoolError("connect: \(errno)") }
        return client
    }

    func accept(timeoutSeconds: Int) throws -> CInt {
        var poll = pollfd(fd: self.descriptor, events: Int16(POLLIN), revents: 0)
        guard Glibc.poll(&poll, 1, CInt(timeoutSeconds * 1_000)) == 1 else { throw BenchPoolError("nothing to accept") }
        let accepted = Glibc.accept(self.descriptor, nil, nil)
        guard accepted >= 0 else { throw BenchPoolError("accept: \(errno)") }
        return accepted
    }

    static func read(_ descriptor: CInt, atLeast count: Int, timeoutSeconds: Int) throws -> [UInt8] {
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4_096)
        let deadline = NIODeadline.now() + .seconds(Int64(timeoutSeconds))
        while bytes.count < count || !Self.holdsWholeFrame(bytes) {
            var poll = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
            let left = max(0, (deadline - NIODeadline.now()).nanoseconds / 1_000_000)
            guard Glibc.poll(&poll, 1, CInt(left)) == 1 else { throw BenchPoolError("no bytes in time") }
            let read = chunk.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress, $0.count) }
            guard read > 0 else { throw BenchPoolError("closed after \(bytes.count) bytes") }
            bytes += chunk[..<read]
        }
        return bytes
    }

    /// Whether `bytes` start with a whole frame (its length field counts the bytes after it).
    private static func holdsWholeFrame(_ bytes: [UInt8]) -> Bool {
        guard bytes.count >= 4 else { return false }
        let length = bytes[0..<4].reduce(0) { $0 << 8 | Int($1) }
        return bytes.count >= 4 + length
    }

    static func write(_ descriptor: CInt, _ buffer: ByteBuffer) throws {
        let written = buffer.withUnsafeReadableBytes { Glibc.write(descriptor, $0.baseAddress, $0.count) }
        guard written == buffer.readableBytes else { throw BenchPoolError("short write") }
    }

    func close() {
        _ = Glibc.close(self.descriptor)
    }
}
