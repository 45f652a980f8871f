import HeraldWire
import NIOCore

/// The one channel handler of a bench connection, TCP or WebSocket: it splits received bytes
/// into frames, reads PUSHes in place, and carries out what its
/// ``BenchConnectionStateMachine`` decides. Everything runs on the connection's event loop;
/// counters and histograms go to that loop's ``BenchLoop``, with no lock.
final class BenchConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// Frames from the server are at most this long (the server's default limit is 64 KiB).
    static let maximumFrameLength = 16 << 20

    private let loop: BenchLoop
    /// The connection's place in its loop.
    let slot: Int
    /// The attempt this handler serves; the loop ignores news from older attempts.
    let generation: UInt32
    private let authFrame: ByteBuffer
    private let decoder = FrameDecoder(maximumLength: BenchConnectionHandler.maximumFrameLength)
    private(set) var machine: BenchConnectionStateMachine
    private var context: ChannelHandlerContext?
    /// Bytes of a frame (or of the WebSocket handshake) whose rest has not arrived.
    private var pending: ByteBuffer?
    private var handshakeDone = false
    /// A fragmented WebSocket message being joined.
    private var fragments: ByteBuffer?
    private var sentWebSocketClose = false
    /// The channel became active with its connect still in progress (a socket connected by
    /// ``ConnectingSocket``): the first bytes from the server say it is up.
    private let connectInProgress: Bool

    init(
        loop: BenchLoop,
        slot: Int,
        generation: UInt32,
        authFrame: ByteBuffer,
        machine: BenchConnectionStateMachine,
        connectInProgress: Bool = false
    ) {
        self.loop = loop
        self.slot = slot
        self.generation = generation
        self.authFrame = authFrame
        self.machine = machine
        self.connectInProgress = connectInProgress
    }

    // MARK: Channel events

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    func channelActive(context: ChannelHandlerContext) {
        let transition = self.machine.channelActive(
            now: Self.monotonicNow(), connected: !self.connectInProgress, counters: &self.loop.counters)
        self.apply(transition, context: context)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        // Bytes from the server: the connect that was in progress when the channel became
        // active has completed.
        if self.machine.awaitingConnect { self.machine.connectCompleted(counters: &self.loop.counters) }
        let incoming = Self.unwrapInboundIn(data)
        var buffer: ByteBuffer
        if var pending = self.pending {
            // Drop our reference first so that appending does not copy the storage.
            self.pending = nil
            var incoming = incoming
            pending.writeBuffer(&incoming)
            buffer = pending
        } else {
            buffer = incoming
        }
        switch self.machine.configuration.transport {
        case .tcp:
            self.readStream(&buffer, context: context)
        case .webSocket:
            self.readWebSocket(&buffer, context: context)
        }
        guard buffer.readableBytes > 0, self.machine.state != .closed else { return }
        // Keep only the leftover bytes, not the whole receive buffer they sit in.
        var rest = context.channel.allocator.buffer(capacity: buffer.readableBytes)
        rest.writeBuffer(&buffer)
        self.pending = rest
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.pending = nil
        self.fragments = nil
        let settlement = self.machine.channelClosed(counters: &self.loop.counters)
        self.loop.connectionClosed(slot: self.slot, generation: self.generation, settlement: settlement)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // Connection resets and the like: the close that follows is counted in channelInactive.
        context.close(promise: nil)
    }

    // MARK: Called by the loop

    /// The loop's sweep: heartbeat and setup timeout.
    func tick(now: UInt64) {
        guard let context = self.context else { return }
        self.apply(self.machine.tick(now: now, counters: &self.loop.counters), context: context)
    }

    /// The loop's ACK flush.
    func flushAck() {
        guard let ack = self.machine.takeAck(counters: &self.loop.counters), let context = self.context else { return }
        self.send(ack, context: context)
    }

    /// The connect attempt failed before the channel became active.
    func connectFailed(timedOut: Bool) {
        if let settlement = self.machine.connectFailed(timedOut: timedOut, counters: &self.loop.counters) {
            self.loop.settle(slot: self.slot, generation: self.generation, settlement)
        }
    }

    /// Closes the connection from this side; the future completes when it is closed.
    func closeByUs(eventLoop: any EventLoop) -> EventLoopFuture<Void> {
        guard let context = self.context else { return eventLoop.makeSucceededVoidFuture() }
        let channel = context.channel
        if self.machine.closeRequested() {
            context.close(promise: nil)
        }
        return channel.closeFuture
    }

    // MARK: Reading

    private func readStream(_ buffer: inout ByteBuffer, context: ChannelHandlerContext) {
        var arrival: UInt64 = 0
        while self.machine.state != .closed {
            switch BenchFrameScanner.scan(buffer, maximumLength: Self.maximumFrameLength) {
            case .incomplete:
                return
            case .push(let push, let length):
                buffer.moveReaderIndex(forwardBy: length)
                self.pushReceived(push, arrival: &arrival)
            case .other(let length):
                // `scan` saw all `length` bytes, so the slice exists.
                guard let frame = buffer.readSlice(length: length) else { return }
                self.otherFrame(frame, context: context)
            case .invalid:
                buffer.moveReaderIndex(to: buffer.writerIndex)
                self.apply(self.machine.protocolViolation(counters: &self.loop.counters), context: context)
                return
            }
        }
    }

    private func readWebSocket(_ buffer: inout ByteBuffer, context: ChannelHandlerContext) {
        if !self.handshakeDone {
            switch BenchWebSocket.readHandshake(from: &buffer) {
            case .incomplete:
                return
            case .refused:
                buffer.moveReaderIndex(to: buffer.writerIndex)
                self.apply(self.machine.upgradeRefused(counters: &self.loop.counters), context: context)
                return
            case .accepted:
                self.handshakeDone = true
                self.apply(
                    self.machine.upgraded(now: Self.monotonicNow(), counters: &self.loop.counters), context: context)
            }
        }
        var arrival: UInt64 = 0
        do {
            while self.machine.state != .closed,
                let frame = try BenchWebSocket.nextFrame(from: &buffer, maximumPayload: Self.maximumFrameLength)
            {
                self.webSocketFrame(frame, arrival: &arrival, context: context)
            }
        } catch {
            buffer.moveReaderIndex(to: buffer.writerIndex)
            self.apply(self.machine.protocolViolation(counters: &self.loop.counters), context: context)
        }
    }

    private func webSocketFrame(_ frame: BenchWebSocket.Frame, arrival: inout UInt64, context: ChannelHandlerContext) {
        switch BenchWebSocket.Opcode(rawValue: frame.opcode) {
        case .binary:
            if frame.fin {
                self.message(frame.payload, arrival: &arrival, context: context)
            } else {
                self.fragments = frame.payload
            }
        case .continuation:
            guard var joined = self.fragments else { return }
            self.fragments = nil
            var payload = frame.payload
            joined.writeBuffer(&payload)
            if frame.fin {
                self.message(joined, arrival: &arrival, context: context)
            } else {
                self.fragments = joined
            }
        case .ping:
            self.writeWebSocket(opcode: .pong, payload: frame.payload, context: context)
        case .pong:
            break
        case .close:
            if !self.sentWebSocketClose {
                self.sentWebSocketClose = true
                self.writeWebSocket(opcode: .close, payload: frame.payload, context: context)
            }
            context.close(promise: nil)
        case .text, .none:
            self.apply(self.machine.protocolViolation(counters: &self.loop.counters), context: context)
        }
    }

    /// One WebSocket message: exactly one frame.
    private func message(_ payload: ByteBuffer, arrival: inout UInt64, context: ChannelHandlerContext) {
        switch BenchFrameScanner.scan(payload, maximumLength: Self.maximumFrameLength) {
        case .push(let push, let length) where length == payload.readableBytes:
            self.pushReceived(push, arrival: &arrival)
        case .other(let length) where length == payload.readableBytes:
            self.otherFrame(payload, context: context)
        case .incomplete, .invalid, .push, .other:
            self.apply(self.machine.protocolViolation(counters: &self.loop.counters), context: context)
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

    private func otherFrame(_ bytes: ByteBuffer, context: ChannelHandlerContext) {
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
            self.apply(transition, context: context)
            return
        }
        let message: ServerMessage
        do {
            message = try ServerMessage(try self.decoder.single(from: bytes))
        } catch {
            self.apply(self.machine.protocolViolation(counters: &self.loop.counters), context: context)
            return
        }
        let transition = self.machine.received(message, now: Self.monotonicNow(), counters: &self.loop.counters)
        if transition.scheduleAck { self.loop.queueAck(self) }
        self.apply(transition, context: context)
    }

    // MARK: Carrying out transitions

    private func apply(_ transition: BenchConnectionStateMachine.Transition, context: ChannelHandlerContext) {
        if let outbound = transition.send {
            self.send(outbound, context: context)
        }
        if let settlement = transition.settle {
            self.loop.settle(slot: self.slot, generation: self.generation, settlement)
        }
        if transition.close {
            context.close(promise: nil)
        }
    }

    private func send(_ outbound: BenchConnectionStateMachine.Outbound, context: ChannelHandlerContext) {
        let allocator = context.channel.allocator
        var frame: ByteBuffer
        switch outbound {
        case .upgrade:
            let endpoint = self.loop.webSocketEndpoint
            let key = (0..<16).map { _ in UInt8.random(in: 0...255) }
            let request = BenchWebSocket.upgradeRequest(
                host: endpoint?.host ?? "localhost",
                port: endpoint?.port ?? 80,
                path: endpoint?.path ?? "/ws",
                key: key
            )
            context.writeAndFlush(Self.wrapOutboundOut(request), promise: nil)
            self.machine.sent(now: Self.monotonicNow())
            return
        case .auth:
            frame = self.authFrame
        case .subscribe(let session, let seq):
            frame = allocator.buffer(capacity: 64)
            ClientMessage.subscribe(
                seq: seq, TopicsRequest(session: session, topics: self.machine.configuration.topics)
            )
            .write(into: &frame)
        case .ping(let seq):
            frame = allocator.buffer(capacity: Frame.headerSize)
            frame.writeFrameHeader(op: .ping, seq: seq, bodyLength: 0)
        case .ack(let session, let seq):
            frame = allocator.buffer(capacity: Frame.headerSize + AckBody.size)
            frame.writeFrameHeader(op: .ack, seq: seq, bodyLength: AckBody.size)
            AckBody(session: session, kind: .user).write(into: &frame)
        }
        switch self.machine.configuration.transport {
        case .tcp:
            context.writeAndFlush(Self.wrapOutboundOut(frame), promise: nil)
        case .webSocket:
            self.writeWebSocket(opcode: .binary, payload: frame, context: context)
        }
        self.machine.sent(now: Self.monotonicNow())
    }

    private func writeWebSocket(opcode: BenchWebSocket.Opcode, payload: ByteBuffer, context: ChannelHandlerContext) {
        var buffer = context.channel.allocator.buffer(capacity: payload.readableBytes + 14)
        BenchWebSocket.writeFrame(opcode: opcode, payload: payload, maskKey: self.loop.nextMaskKey(), into: &buffer)
        context.writeAndFlush(Self.wrapOutboundOut(buffer), promise: nil)
    }

    static func monotonicNow() -> UInt64 {
        NIODeadline.now().uptimeNanoseconds
    }
}
