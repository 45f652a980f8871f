import HeraldWire
import NIOCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// One bench connection, TCP or WebSocket, on its ``BenchEventLoop``: it reads what the socket
/// has, splits it into frames, reads PUSHes in place, and carries out what its
/// ``BenchConnectionStateMachine`` decides. Everything runs on the loop's thread; counters and
/// histograms go to the ``BenchLoop``, with no lock.
final class BenchConnection {
    /// Frames from the server are at most this long (the server's default limit is 64 KiB).
    static let maximumFrameLength = 16 << 20
    /// Bytes read from a socket per system call: as much as the loop's receive buffer holds.
    static let readSize = 65_536
    /// Reads per readiness event, so that one busy socket does not hold up the others.
    static let readsPerEvent = 4

    private let loop: BenchLoop
    let descriptor: CInt
    /// The connection's place in its loop.
    let slot: Int
    /// The attempt this connection serves; the loop ignores news from older attempts.
    let generation: UInt32
    private let authFrame: ByteBuffer
    private let decoder = FrameDecoder(maximumLength: BenchConnection.maximumFrameLength)
    private(set) var machine: BenchConnectionStateMachine
    /// Bytes of a frame (or of the WebSocket handshake) whose rest has not arrived.
    private var pending: ByteBuffer?
    /// Bytes the socket would not take yet; `EPOLLOUT` is watched while there are any.
    private var unsent: ByteBuffer?
    private var handshakeDone = false
    /// A fragmented WebSocket message being joined.
    private var fragments: ByteBuffer?
    private var sentWebSocketClose = false

    /// The socket has been closed (the state machine is told first, so this holds from then on).
    private var isClosed: Bool { self.machine.state == .closed }

    /// A connection over `descriptor`, a socket whose connect has been started: it becomes
    /// this object's to close.
    init(
        loop: BenchLoop,
        descriptor: CInt,
        slot: Int,
        generation: UInt32,
        authFrame: ByteBuffer,
        machine: BenchConnectionStateMachine
    ) {
        self.loop = loop
        self.descriptor = descriptor
        self.slot = slot
        self.generation = generation
        self.authFrame = authFrame
        self.machine = machine
    }

    // MARK: Socket events

    /// Sends the first request and starts watching the socket. The connect may still be in
    /// progress: a write to such a socket fails with `EAGAIN`, and the request waits for
    /// `EPOLLOUT`, which comes when the connection is up (or failed: then a read says why).
    func start() throws(SystemCallError) {
        let transition = self.machine.channelActive(
            now: Self.monotonicNow(), connected: false, counters: &self.loop.counters)
        self.apply(transition)
        guard !self.isClosed else { return }
        if self.unsent == nil { self.connectionIsUp() }
        try self.loop.eventLoop.register(self, writable: self.unsent != nil)
    }

    /// The loop saw the socket ready.
    func ready(readable: Bool, writable: Bool) {
        if writable { self.flush() }
        if readable, !self.isClosed { self.readAvailable() }
    }

    // MARK: Called by the loop

    /// The loop's sweep: heartbeat and setup timeout.
    func tick(now: UInt64) {
        guard !self.isClosed else { return }
        self.apply(self.machine.tick(now: now, counters: &self.loop.counters))
    }

    /// The loop's ACK flush.
    func flushAck() {
        guard !self.isClosed, let ack = self.machine.takeAck(counters: &self.loop.counters) else { return }
        self.send(ack)
    }

    /// Closes the connection from this side.
    func closeByUs() {
        guard !self.isClosed else { return }
        _ = self.machine.closeRequested()
        self.close()
    }

    /// Closes the socket and reports the connection closed to the loop.
    func close() {
        guard !self.isClosed else { return }
        let settlement = self.machine.channelClosed(counters: &self.loop.counters)
        self.loop.eventLoop.unregister(self)
        SystemCalls.close(self.descriptor)
        self.pending = nil
        self.unsent = nil
        self.fragments = nil
        self.loop.connectionClosed(slot: self.slot, generation: self.generation, settlement: settlement)
    }

    // MARK: Reading

    private func readAvailable() {
        for _ in 0..<Self.readsPerEvent {
            var buffer = self.loop.eventLoop.takeReceiveBuffer()
            var count = 0
            buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: Self.readSize) { pointer in
                count = SystemCalls.read(self.descriptor, pointer.baseAddress, min(pointer.count, Self.readSize))
                return max(0, count)
            }
            let error = count < 0 ? errno : 0
            if count > 0 {
                // Bytes from the server: a connect still in progress has completed.
                self.connectionIsUp()
                self.received(&buffer)
            }
            self.loop.eventLoop.giveBackReceiveBuffer(buffer)
            if count < 0, error == EAGAIN || error == EWOULDBLOCK { return }
            if count < 0, error == EINTR { continue }
            if count <= 0 {
                // The end of the stream, or an error (a reset, a refused connect).
                self.close()
                return
            }
            if count < Self.readSize || self.isClosed { return }
        }
    }

    private func received(_ incoming: inout ByteBuffer) {
        if var pending = self.pending {
            // Drop our reference first so that appending does not copy the storage.
            self.pending = nil
            pending.writeBuffer(&incoming)
            self.process(&pending)
            self.keepLeftover(of: &pending)
        } else {
            self.process(&incoming)
            self.keepLeftover(of: &incoming)
        }
    }

    private func process(_ buffer: inout ByteBuffer) {
        switch self.machine.configuration.transport {
        case .tcp:
            self.readStream(&buffer)
        case .webSocket:
            self.readWebSocket(&buffer)
        }
    }

    /// Keeps the bytes of a frame whose rest has not arrived, not the buffer they sit in.
    private func keepLeftover(of buffer: inout ByteBuffer) {
        guard buffer.readableBytes > 0, !self.isClosed else { return }
        var rest = ByteBufferAllocator().buffer(capacity: buffer.readableBytes)
        rest.writeBuffer(&buffer)
        self.pending = rest
    }

    private func readStream(_ buffer: inout ByteBuffer) {
        var arrival: UInt64 = 0
        while !self.isClosed {
            switch BenchFrameScanner.scan(buffer, maximumLength: Self.maximumFrameLength) {
            case .incomplete:
                return
            case .push(let push, let length):
                buffer.moveReaderIndex(forwardBy: length)
                self.pushReceived(push, arrival: &arrival)
            case .other(let length):
                // `scan` saw all `length` bytes, so the slice exists.
                guard let frame = buffer.readSlice(length: length) else { return }
                self.otherFrame(frame)
            case .invalid:
                buffer.moveReaderIndex(to: buffer.writerIndex)
                self.apply(self.machine.protocolViolation(counters: &self.loop.counters))
                return
            }
        }
    }

    private func readWebSocket(_ buffer: inout ByteBuffer) {
        if !self.handshakeDone {
            switch BenchWebSocket.readHandshake(from: &buffer) {
            case .incomplete:
                return
            case .refused:
                buffer.moveReaderIndex(to: buffer.writerIndex)
                self.apply(self.machine.upgradeRefused(counters: &self.loop.counters))
                return
            case .accepted:
                self.handshakeDone = true
                self.apply(self.machine.upgraded(now: Self.monotonicNow(), counters: &self.loop.counters))
            }
        }
        var arrival: UInt64 = 0
        do {
            while !self.isClosed,
                let frame = try BenchWebSocket.nextFrame(from: &buffer, maximumPayload: Self.maximumFrameLength)
            {
                self.webSocketFrame(frame, arrival: &arrival)
            }
        } catch {
            buffer.moveReaderIndex(to: buffer.writerIndex)
            self.apply(self.machine.protocolViolation(counters: &self.loop.counters))
        }
    }

    private func webSocketFrame(_ frame: BenchWebSocket.Frame, arrival: inout UInt64) {
        switch BenchWebSocket.Opcode(rawValue: frame.opcode) {
        case .binary:
            if frame.fin {
                self.message(frame.payload, arrival: &arrival)
            } else {
                self.fragments = frame.payload
            }
        case .continuation:
            guard var joined = self.fragments else { return }
            self.fragments = nil
            var payload = frame.payload
            joined.writeBuffer(&payload)
            if frame.fin {
                self.message(joined, arrival: &arrival)
            } else {
                self.fragments = joined
            }
        case .ping:
            self.writeWebSocket(opcode: .pong, payload: frame.payload)
        case .pong:
            break
        case .close:
            if !self.sentWebSocketClose {
                self.sentWebSocketClose = true
                self.writeWebSocket(opcode: .close, payload: frame.payload)
            }
            self.close()
        case .text, .none:
            self.apply(self.machine.protocolViolation(counters: &self.loop.counters))
        }
    }

    /// One WebSocket message: exactly one frame.
    private func message(_ payload: ByteBuffer, arrival: inout UInt64) {
        switch BenchFrameScanner.scan(payload, maximumLength: Self.maximumFrameLength) {
        case .push(let push, let length) where length == payload.readableBytes:
            self.pushReceived(push, arrival: &arrival)
        case .other(let length) where length == payload.readableBytes:
            self.otherFrame(payload)
        case .incomplete, .invalid, .push, .other:
            self.apply(self.machine.protocolViolation(counters: &self.loop.counters))
        }
    }

    // MARK: Frames

    /// The hot path: count, time and maybe queue an ACK, without allocating.
    @inline(__always)
    private func pushReceived(_ push: BenchFrameScanner.Push, arrival: inout UInt64) {
        if self.machine.pushReceived(push, counters: &self.loop.counters) {
            self.loop.queueAck(self)
        }
        // One clock read per batch of frames: they arrived together.
        if arrival == 0 { arrival = BenchPayload.now() }
        self.loop.recordArrival(kind: push.kind, sentAt: push.sentAt, arrival: arrival)
    }

    private func otherFrame(_ bytes: ByteBuffer) {
        if bytes.getInteger(at: bytes.readerIndex + 5, as: UInt8.self) == Opcode.authOK.rawValue,
            let seq = bytes.getInteger(at: bytes.readerIndex + 8, as: UInt32.self),
            let body = bytes.getSlice(
                at: bytes.readerIndex + Frame.headerSize, length: bytes.readableBytes - Frame.headerSize),
            let ok = AuthOKScanner.scan(body)
        {
            let transition = self.machine.authenticated(
                seq: seq,
                session: ok.session,
                heartbeat: ok.heartbeat,
                counters: &self.loop.counters
            )
            self.apply(transition)
            return
        }
        let message: ServerMessage
        do {
            message = try ServerMessage(try self.decoder.single(from: bytes))
        } catch {
            self.apply(self.machine.protocolViolation(counters: &self.loop.counters))
            return
        }
        let transition = self.machine.received(message, now: Self.monotonicNow(), counters: &self.loop.counters)
        if transition.scheduleAck { self.loop.queueAck(self) }
        self.apply(transition)
    }

    // MARK: Carrying out transitions

    private func apply(_ transition: BenchConnectionStateMachine.Transition) {
        if let outbound = transition.send {
            self.send(outbound)
        }
        if let settlement = transition.settle {
            self.loop.settle(slot: self.slot, generation: self.generation, settlement)
        }
        if transition.close {
            self.close()
        }
    }

    private func send(_ outbound: BenchConnectionStateMachine.Outbound) {
        var frame: ByteBuffer
        switch outbound {
        case .upgrade:
            let endpoint = self.loop.webSocketEndpoint(slot: self.slot)
            let key = (0..<16).map { _ in UInt8.random(in: 0...255) }
            let request = BenchWebSocket.upgradeRequest(
                host: endpoint?.host ?? "localhost",
                port: endpoint?.port ?? 80,
                path: endpoint?.path ?? "/ws",
                key: key
            )
            self.write(request)
            self.machine.sent(now: Self.monotonicNow())
            return
        case .auth:
            frame = self.authFrame
        case .subscribe(let session, let seq):
            frame = ByteBufferAllocator().buffer(capacity: 64)
            ClientMessage.subscribe(
                seq: seq, TopicsRequest(session: session, topics: self.machine.configuration.topics)
            )
            .write(into: &frame)
        case .ping(let seq):
            frame = ByteBufferAllocator().buffer(capacity: Frame.headerSize)
            frame.writeFrameHeader(op: .ping, seq: seq, bodyLength: 0)
        case .ack(let session, let seq):
            frame = ByteBufferAllocator().buffer(capacity: Frame.headerSize + AckBody.size)
            frame.writeFrameHeader(op: .ack, seq: seq, bodyLength: AckBody.size)
            AckBody(session: session, kind: .user).write(into: &frame)
        }
        switch self.machine.configuration.transport {
        case .tcp:
            self.write(frame)
        case .webSocket:
            self.writeWebSocket(opcode: .binary, payload: frame)
        }
        self.machine.sent(now: Self.monotonicNow())
    }

    private func writeWebSocket(opcode: BenchWebSocket.Opcode, payload: ByteBuffer) {
        var buffer = ByteBufferAllocator().buffer(capacity: payload.readableBytes + 14)
        BenchWebSocket.writeFrame(opcode: opcode, payload: payload, maskKey: self.loop.nextMaskKey(), into: &buffer)
        self.write(buffer)
    }

    // MARK: Writing

    /// Writes `bytes` now, or after what is waiting for the socket.
    private func write(_ bytes: ByteBuffer) {
        guard !self.isClosed else { return }
        if var unsent = self.unsent {
            self.unsent = nil
            var bytes = bytes
            unsent.writeBuffer(&bytes)
            self.unsent = unsent
            return
        }
        var bytes = bytes
        guard self.writeOut(&bytes) else { return }
        guard bytes.readableBytes > 0 else { return }
        self.unsent = bytes
        // Before `start` registers the socket, it watches writes itself.
        guard self.loop.eventLoop.isRegistered(self) else { return }
        do {
            try self.loop.eventLoop.watchWrites(self, true)
        } catch {
            self.close()
        }
    }

    /// Writes what the socket takes of `bytes`. Returns false if the connection closed.
    private func writeOut(_ bytes: inout ByteBuffer) -> Bool {
        while bytes.readableBytes > 0 {
            let written = bytes.withUnsafeReadableBytes { pointer in
                SystemCalls.send(self.descriptor, pointer.baseAddress, pointer.count)
            }
            if written > 0 {
                bytes.moveReaderIndex(forwardBy: written)
                continue
            }
            let error = errno
            if error == EINTR { continue }
            if error == EAGAIN || error == EWOULDBLOCK { return true }
            self.close()
            return false
        }
        return true
    }

    /// The socket is writable: send what waited.
    private func flush() {
        guard var unsent = self.unsent else { return }
        self.unsent = nil
        guard self.writeOut(&unsent) else { return }
        if unsent.readableBytes > 0 {
            self.unsent = unsent
            return
        }
        self.connectionIsUp()
        do {
            try self.loop.eventLoop.watchWrites(self, false)
        } catch {
            self.close()
        }
    }

    /// The first request went out whole (or the server's first bytes came in): the TCP
    /// connection is up. The state machine counts it once, whoever says it first.
    private func connectionIsUp() {
        self.machine.connectCompleted(counters: &self.loop.counters)
    }

    static func monotonicNow() -> UInt64 {
        NIODeadline.now().uptimeNanoseconds
    }
}
