import CoreMetrics
import HeraldCore
import HeraldWire
import Logging
import NIOCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The channel handler of one client connection, for both transports: it decodes frames,
/// feeds the ``ConnectionStateMachine`` and carries out its actions.
///
/// With `.stream` framing (TCP) it decodes a byte stream itself, keeping a partial-frame
/// buffer only while a frame is incomplete. With `.messages` framing (WebSocket, behind a
/// ``WebSocketFrameCodec``) each inbound buffer must hold exactly one frame, and it writes
/// the codec's ``WebSocketFrameCodec/Outbound``: each frame as one binary message, and a
/// fan-out batch already framed.
///
/// All state is touched on the channel's event loop only.
final class ConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// How inbound bytes map to frames.
    enum Framing: Sendable {
        /// A TCP byte stream of frames.
        case stream
        /// One frame per inbound buffer (a WebSocket binary message).
        case messages
    }

    /// Live pushes held for an opening session before the connection counts as too slow.
    static let maxHeldPushes = 4096

    // Stored properties are declared in this order so that the small ones fill the gaps
    // between the large ones: every idle connection keeps one of these objects.
    private let environment: GatewayEnvironment
    private let shard: EventLoopShard
    private var stateMachine: ConnectionStateMachine
    private let framing: Framing
    private var admitted = false
    private var refused = false
    private var needsFlush = false
    /// Set by the shard while this connection waits in its end-of-tick flush list.
    var flushPending = false
    private var context: ChannelHandlerContext?
    /// `.none` until the shard registers the connection.
    private var connectionID = ConnectionID.none
    private var partial = PartialInput()
    private var lastActivityTick: UInt64 = 0
    private var authDeadlineTick: UInt64 = 0
    /// Live pushes for the opening session, held until its replay is written.
    private var held: [HeldPush] = []
    /// The replay being written page by page, if any (boxed: idle connections keep 8 bytes).
    private var replayPages: ReplayPages?

    init(framing: Framing, environment: GatewayEnvironment, shard: EventLoopShard) {
        self.framing = framing
        self.environment = environment
        self.shard = shard
        self.stateMachine = ConnectionStateMachine(configuration: environment.machineConfiguration)
    }

    /// Logs with the gateway's logger and this connection's id. The logger with the id is made
    /// only when the level is enabled: rather than kept, metadata and all, by each of many idle
    /// connections, and not made for nothing on every session opened (setting metadata costs a
    /// `StreamLogHandler` a re-rendering of all of it).
    private func log(
        _ level: Logger.Level,
        _ message: @autoclosure () -> Logger.Message,
        metadata: @autoclosure () -> Logger.Metadata? = nil
    ) {
        guard self.environment.logger.logLevel <= level else { return }
        var logger = self.environment.logger
        if let id = self.registeredID {
            logger[metadataKey: "connection.id"] = "\(id.rawValue)"
        }
        logger.log(level: level, message(), metadata: metadata())
    }

    /// The connection's id in its shard, once registered.
    private var registeredID: ConnectionID? {
        self.connectionID == .none ? nil : self.connectionID
    }

    // MARK: Channel events

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        // Behind a WebSocket upgrade the channel is already active.
        if context.channel.isActive {
            self.activate(context: context)
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.teardown()
        self.context = nil
    }

    func channelActive(context: ChannelHandlerContext) {
        self.activate(context: context)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.teardown()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard self.admitted, self.isOpen else { return }
        self.lastActivityTick = self.shard.currentTick
        let incoming = Self.unwrapInboundIn(data)
        switch self.framing {
        case .messages:
            do {
                let frame = try self.environment.frameDecoder.single(from: incoming)
                self.handle(frame)
            } catch {
                self.apply(self.stateMachine.protocolViolation(seq: 0, error))
            }
        case .stream:
            self.decodeStream(incoming, allocator: context.channel.allocator)
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        self.flushIfNeeded()
        context.fireChannelReadComplete()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if self.admitted, !context.channel.isWritable {
            // More than maxOutboundBytes is queued: the peer does not read. Never grow without bound.
            self.environment.counters.slowConsumerClosed()
            self.environment.metrics.slowConsumersClosed.increment()
            self.log(.debug, "closing slow consumer")
            context.close(promise: nil)
        }
        context.fireChannelWritabilityChanged()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let error = error as? ProtocolError {
            self.apply(self.stateMachine.protocolViolation(seq: 0, error))
            self.flushIfNeeded()
        } else {
            // I/O errors and WebSocket-level errors end the connection; this is the last handler.
            self.log(.trace, "connection error", metadata: ["error": "\(error)"])
            context.close(promise: nil)
        }
    }

    // MARK: Calls from the shard

    /// Writes one encoded PUSH frame without flushing, if `session` is open, or holds it if
    /// the session is still opening. Returns whether it was written or held.
    func writePush(_ frame: ByteBuffer, session: UInt16, kind: PushKind, seq: UInt32) -> Bool {
        guard let context else { return false }
        if self.stateMachine.holdsPushes(for: session) {
            guard self.held.count < Self.maxHeldPushes else {
                // A flood while the replay loads: treat it as a reader that cannot keep up.
                self.environment.counters.slowConsumerClosed()
                self.environment.metrics.slowConsumersClosed.increment()
                self.log(.debug, "closing connection: too many live messages while its replay loads")
                self.closeNow()
                return false
            }
            self.held.append(HeldPush(frame: frame, kind: kind, seq: seq))
            return true
        }
        guard self.stateMachine.acceptsPushes(for: session) else { return false }
        self.emit(frame, context: context)
        self.environment.metrics.pushesWritten.increment()
        self.shard.markTouched(self)
        return true
    }

    /// Writes fan-out frames for `session` and flushes, in one write: the frames back to back
    /// on TCP, the batch's WebSocket messages on WebSocket. Frames for an opening session are
    /// held, one by one, like ``writePush(_:session:kind:seq:)`` holds them. Broadcasts at or
    /// below the highest the session already has (its replay carried them, or they reached
    /// the shard out of order) are left out, so that each session sees broadcasts once and in
    /// sequence order. Flushed at once rather than at the end of the shard's slice, so that
    /// the first clients read while the pass goes on to the others.
    func writeBatch(_ batch: PushBatch, session: UInt16) {
        guard let context else { return }
        if self.stateMachine.holdsPushes(for: session) {
            for push in batch.frames {
                guard self.writePush(push.frame, session: session, kind: push.kind, seq: push.seq) else { return }
            }
            return
        }
        guard self.stateMachine.acceptsPushes(for: session),
            let written = self.stateMachine.writtenBroadcastSequence(of: session)
        else { return }
        if batch.highestBroadcast == 0 || batch.lowestBroadcast > written {
            switch self.framing {
            case .stream:
                context.write(Self.wrapOutboundOut(batch.combined), promise: nil)
            case .messages:
                context.write(NIOAny(WebSocketFrameCodec.Outbound.framed(batch.webSocketFramed)), promise: nil)
            }
            self.environment.metrics.pushesWritten.increment(by: batch.frames.count)
        } else {
            var count = 0
            for push in batch.frames where push.kind != .broadcast || push.seq > written {
                self.emit(push.frame, context: context)
                count += 1
            }
            guard count > 0 else { return }
            self.environment.metrics.pushesWritten.increment(by: count)
        }
        if batch.highestBroadcast > written {
            self.stateMachine.broadcastWritten(session: session, seq: batch.highestBroadcast)
        }
        self.needsFlush = false
        context.flush()
    }

    /// The session `number`, open or opening, if this connection has it.
    func session(_ number: UInt16) -> ConnectionStateMachine.Session? {
        self.stateMachine.session(number)
    }

    /// Flushes what was written (the shard's end-of-tick pass).
    func flush() {
        self.needsFlush = false
        self.context?.flush()
    }

    /// Ends one session with GOAWAY `reason`. Returns whether the session was open.
    func endSession(_ number: UInt16, reason: GoAwayReason) -> Bool {
        switch self.stateMachine.endSession(number, reason: reason) {
        case .none:
            return false
        case .openingEnded(let session):
            self.held.removeAll()
            self.unindex(session)
            return true
        case .sessionEnded(let session, let goAway, let closeConnection):
            if self.replayPages?.session == number {
                // Ended mid-replay: the rest of it, and what was held, are not for anyone now.
                self.replayPages = nil
                self.held.removeAll()
            }
            self.unindex(session)
            if closeConnection {
                self.writeAndClose(.goaway(goAway))
            } else {
                self.write(.goaway(goAway))
                self.shard.markTouched(self)
            }
            return true
        }
    }

    /// Sends GOAWAY `draining` and closes. Returns the channel's close future.
    func drain(retryAfterMs: Int) -> EventLoopFuture<Void>? {
        guard let context else { return nil }
        switch self.stateMachine.drain(retryAfterMs: retryAfterMs) {
        case .none:
            break
        case .goAway(let goAway, let endedSessions):
            for session in endedSessions { self.unindex(session) }
            self.writeAndClose(.goaway(goAway))
        }
        return context.channel.closeFuture
    }

    /// Closes the channel at once.
    func closeNow() {
        self.context?.close(promise: nil)
    }

    /// The timing wheel reached a deadline of this connection: re-check the real ones.
    func timerFired(tick: UInt64) {
        guard self.admitted, let id = self.registeredID else { return }
        switch self.stateMachine.state {
        case .closing, .closed:
            // The last frame did not get out within the grace period.
            self.closeNow()
        case .awaitingFirstAuth:
            if tick >= self.authDeadlineTick {
                self.apply(self.stateMachine.authTimedOut())
                self.flushIfNeeded()
                if self.stateMachine.state == .awaitingFirstAuth {
                    // An AUTH is still being verified: look again one timeout later.
                    self.authDeadlineTick = tick + self.environment.authTimeoutTicks
                    self.shard.schedule(id, at: self.authDeadlineTick)
                }
            } else {
                self.shard.schedule(id, at: self.authDeadlineTick)
            }
        case .active:
            let idleDeadline = self.lastActivityTick + self.environment.idleTimeoutTicks
            if tick >= idleDeadline {
                self.log(.debug, "closing idle connection")
                self.closeNow()
            } else {
                self.shard.schedule(id, at: idleDeadline)
            }
        }
    }

    // MARK: Private

    private var isOpen: Bool {
        switch self.stateMachine.state {
        case .awaitingFirstAuth, .active: true
        case .closing, .closed: false
        }
    }

    private func activate(context: ChannelHandlerContext) {
        guard !self.admitted, !self.refused else { return }
        let configuration = self.environment.configuration
        guard self.environment.counters.admitConnection(limit: configuration.maxConnections) else {
            self.refused = true
            self.environment.metrics.connectionsRefused.increment()
            self.environment.metrics.errorSent(.serverBusy)
            self.log(
                .debug,
                "refusing connection over the cap",
                metadata: ["gateway.max_connections": "\(configuration.maxConnections)"]
            )
            let error = ErrorBody(.serverBusy, "this node is at its connection limit; retry later or elsewhere")
            self.writeAndClose(.error(seq: 0, error))
            return
        }
        self.admitted = true
        self.environment.metrics.connections.increment()
        self.environment.metrics.connectionsAccepted.increment()
        let id = self.shard.register(self)
        self.connectionID = id
        let now = self.shard.currentTick
        self.lastActivityTick = now
        self.authDeadlineTick = now + self.environment.authTimeoutTicks
        self.shard.schedule(id, at: self.authDeadlineTick)
    }

    private func teardown() {
        guard self.admitted else { return }
        self.admitted = false
        for session in self.stateMachine.connectionClosed() {
            self.unindex(session)
        }
        if let id = self.registeredID {
            self.shard.unregister(id)
        }
        self.partial.clear()
        self.environment.counters.connectionClosed()
        self.environment.metrics.connections.decrement()
    }

    private func decodeStream(_ incoming: ByteBuffer, allocator: ByteBufferAllocator) {
        var buffer = self.partial.joined(with: incoming)
        do {
            while self.isOpen, let frame = try self.environment.frameDecoder.next(from: &buffer) {
                self.handle(frame)
            }
        } catch {
            self.apply(self.stateMachine.protocolViolation(seq: 0, error))
            return
        }
        guard self.isOpen else { return }
        self.partial.keep(buffer, allocator: allocator)
    }

    private func handle(_ frame: Frame) {
        self.environment.metrics.framesIn.increment()
        let message: ClientMessage
        do {
            message = try ClientMessage(frame)
        } catch {
            self.apply(self.stateMachine.protocolViolation(seq: frame.seq, error))
            return
        }
        self.apply(self.stateMachine.received(message))
    }

    private func apply(_ action: ConnectionStateMachine.Action) {
        switch action {
        case .none:
            break
        case .authenticate(let seq, let request):
            self.authenticate(seq: seq, request: request)
        case .sendPong(let seq):
            self.write(.pong(seq: seq))
        case .acknowledge(let acknowledgement):
            self.environment.acknowledgements?.record(acknowledgement)
        case .sendError(let seq, let error, let closeConnection):
            self.sendError(seq: seq, error, closeConnection: closeConnection)
        case .subscribed(let seq, let session, let app, let added):
            if let id = self.registeredID {
                self.shard.subscribe(SessionKey(connection: id, session: session), app: app, topics: added)
            }
            self.write(.ok(seq: seq))
        case .unsubscribed(let seq, let session, let app, let removed):
            if let id = self.registeredID {
                self.shard.unsubscribe(SessionKey(connection: id, session: session), app: app, topics: removed)
            }
            self.write(.ok(seq: seq))
        }
    }

    private func authenticate(seq: UInt32, request: AuthRequest) {
        let now = Int64(Date().timeIntervalSince1970)
        let token: VerifiedToken
        do {
            token = try self.environment.verifier.verify(request.token, now: now, keys: &self.shard.tokenKeys)
        } catch {
            self.authCompleted(self.stateMachine.authFailed(seq: seq, error))
            return
        }
        guard let context else { return }
        guard case .loadReplay(let session) = self.stateMachine.authVerified(seq: seq, token: token) else { return }
        // Indexed before the store is read: whatever is stored from now on reaches the held
        // list, and whatever was stored before is in the replay (the overlap is dropped by seq).
        self.held.removeAll()
        self.index(session)
        let eventLoop = context.eventLoop
        self.environment.replay.replay(for: token, resume: request.resume, on: eventLoop)
            .hop(to: eventLoop)
            .assumeIsolated()
            .whenComplete { result in
                switch result {
                case .success(let plan):
                    // Fan-out still queued on the shard reaches the session once it is open,
                    // less the broadcasts its replay carried (see writeBatch).
                    self.authCompleted(self.stateMachine.replayLoaded(seq: seq, plan: plan))
                case .failure(let error):
                    self.log(.debug, "replay failed", metadata: ["error": "\(error)"])
                    let failure = ProtocolError(.internal, "could not load what this session missed; retry")
                    self.authCompleted(self.stateMachine.authFailed(seq: seq, failure))
                }
            }
    }

    /// Carries out the end of an AUTH, then the messages queued behind it.
    private func authCompleted(_ action: ConnectionStateMachine.AuthCompletionAction) {
        switch action {
        case .none:
            break
        case .sendError(let seq, let error, let closeConnection, let abandoned):
            self.held.removeAll()
            if let abandoned { self.unindex(abandoned) }
            self.sendError(seq: seq, error, closeConnection: closeConnection)
        case .sessionOpenedAndEnded(let seq, let authOK, let goAway, let closeConnection):
            self.held.removeAll()
            self.write(.authOK(seq: seq, authOK))
            if closeConnection {
                self.writeAndClose(.goaway(goAway))
            } else {
                self.write(.goaway(goAway))
            }
        case .sessionOpened(let seq, let session, let authOK, let replay, let replaced):
            self.write(.authOK(seq: seq, authOK))
            if let replaced {
                self.write(.goaway(GoAway(session: replaced.number, reason: .replaced, reconnect: false)))
                self.unindex(replaced)
            }
            if !replay.isEmpty {
                // Written in pages as the socket drains; the queue waits for the last one.
                self.replayPages = ReplayPages(session: session.number, pushes: replay)
                self.writeReplayPage()
                return
            }
            self.writeHeld(session: session.number, replayedUser: 0)
        }
        self.takeQueuedMessages()
    }

    /// Carries out the messages that waited for an AUTH (and its replay), then flushes.
    private func takeQueuedMessages() {
        while let message = self.stateMachine.nextQueuedMessage() {
            self.apply(self.stateMachine.received(message))
        }
        self.flushIfNeeded()
    }

    /// Writes the next page of the replay and flushes. Unless it was the last, the next page
    /// follows once this one has gone to the socket, so a replay larger than the outbound limit
    /// reaches a slow reader at its own pace instead of closing it as a slow consumer. After
    /// the last page come the live messages held meanwhile, less what the replay carried.
    private func writeReplayPage() {
        guard let pages = self.replayPages, let context else { return }
        guard self.stateMachine.isReplaying(pages.session) else {
            self.replayPages = nil
            return
        }
        var frames: [ByteBuffer] = []
        var bytes = 0
        while bytes < self.environment.replayPageBytes, let push = pages.next() {
            let frame = self.encodeReplayed(push, session: pages.session, allocator: context.channel.allocator)
            bytes += frame.readableBytes
            frames.append(frame)
        }
        if pages.isFinished {
            for frame in frames { self.emit(frame, context: context) }
            self.needsFlush = true
            self.replayPages = nil
            self.stateMachine.replayWritten(session: pages.session)
            self.writeHeld(session: pages.session, replayedUser: pages.highestUserSequence)
            self.takeQueuedMessages()
            return
        }
        let written = context.eventLoop.makePromise(of: Void.self)
        for (index, frame) in frames.enumerated() {
            self.emit(frame, context: context, promise: index == frames.count - 1 ? written : nil)
        }
        self.needsFlush = false
        context.flush()
        written.futureResult.assumeIsolated().whenSuccess {
            guard self.replayPages === pages else { return }
            self.writeReplayPage()
        }
    }

    /// Writes the live messages held for `session` while it opened and replayed, less those
    /// its replay carried: user messages by inbox sequence, broadcasts by the highest the
    /// session has.
    private func writeHeld(session: UInt16, replayedUser: UInt32) {
        let held = self.held
        self.held.removeAll()
        for push in held {
            switch push.kind {
            case .user where push.seq != 0 && push.seq <= replayedUser: continue
            case .broadcast:
                // The machine counts the replay's broadcasts as written.
                let written = self.stateMachine.writtenBroadcastSequence(of: session) ?? 0
                guard push.seq > written else { continue }
                self.stateMachine.broadcastWritten(session: session, seq: push.seq)
            default: break
            }
            if let context = self.context { self.emit(push.frame, context: context) }
            self.environment.metrics.pushesWritten.increment()
            self.needsFlush = true
        }
    }

    private func encodeReplayed(_ push: ReplayPlan.Push, session: UInt16, allocator: ByteBufferAllocator) -> ByteBuffer {
        var buffer = allocator.buffer(
            capacity: Frame.headerSize + PushBody.fixedSize + push.payload.readableBytes
        )
        buffer.writePushFrame(
            seq: push.seq,
            flags: push.ackRequired && push.kind == .user ? .ackRequired : [],
            session: session,
            kind: push.kind,
            payload: push.payload
        )
        return buffer
    }

    private func index(_ session: ConnectionStateMachine.Session) {
        guard let id = self.registeredID else { return }
        let key = SessionKey(connection: id, session: session.number)
        let generation = self.environment.nextSessionGeneration()
        self.shard.addSession(
            key,
            app: session.app,
            user: session.user,
            device: session.device,
            generation: generation
        )
        self.environment.directory?.register(session.info(node: self.environment.configuration.nodeID))
        self.environment.counters.sessionsChanged(by: 1)
        self.environment.metrics.sessions.increment()
        self.log(
            .debug,
            "session opened",
            metadata: [
                "session.number": "\(session.number)", "session.app": "\(session.app)",
                "session.user": "\(session.user)", "session.device": "\(session.device)",
            ]
        )
        self.environment.replaceOtherSessions(
            app: session.app,
            user: session.user,
            device: session.device,
            generation: generation,
            from: id,
            on: self.shard
        )
    }

    private func unindex(_ session: ConnectionStateMachine.Session) {
        guard let id = self.registeredID else { return }
        let key = SessionKey(connection: id, session: session.number)
        self.shard.removeSession(key, app: session.app, user: session.user, topics: session.subscriptions)
        self.environment.directory?.unregister(session.info(node: self.environment.configuration.nodeID))
        self.environment.counters.sessionsChanged(by: -1)
        self.environment.metrics.sessions.decrement()
    }

    private func sendError(seq: UInt32, _ error: ProtocolError, closeConnection: Bool) {
        self.environment.metrics.errorSent(error.code)
        self.log(
            .debug,
            "sending error",
            metadata: ["error.code": "\(error.code.rawValue)", "error.message": "\(error.message)"]
        )
        if closeConnection {
            self.writeAndClose(.error(seq: seq, ErrorBody(error)))
        } else {
            self.write(.error(seq: seq, ErrorBody(error)))
        }
    }

    private func encode(_ message: ServerMessage) -> ByteBuffer? {
        guard let context else { return nil }
        let capacity: Int
        switch message {
        case .authOK, .error, .goaway: capacity = 256  // JSON bodies
        case .pong, .push, .upstreamOK, .ok: capacity = 64
        }
        var buffer = context.channel.allocator.buffer(capacity: capacity)
        message.write(into: &buffer)
        return buffer
    }

    private func write(_ message: ServerMessage) {
        guard let context, let buffer = self.encode(message) else { return }
        self.emit(buffer, context: context)
        self.needsFlush = true
    }

    /// Writes one frame: as it is on TCP, as one binary message on WebSocket.
    private func emit(_ frame: ByteBuffer, context: ChannelHandlerContext, promise: EventLoopPromise<Void>? = nil) {
        switch self.framing {
        case .stream:
            context.write(Self.wrapOutboundOut(frame), promise: promise)
        case .messages:
            context.write(NIOAny(WebSocketFrameCodec.Outbound.message(frame)), promise: promise)
        }
    }

    /// Writes the last frame, flushes, and closes once it is out ("the server closes after
    /// writing the ERROR frame"). The wheel closes it outright if that takes too long.
    private func writeAndClose(_ message: ServerMessage) {
        guard let context, let buffer = self.encode(message) else { return }
        self.needsFlush = false
        let channel = context.channel
        let written = context.eventLoop.makePromise(of: Void.self)
        self.emit(buffer, context: context, promise: written)
        context.flush()
        written.futureResult.whenComplete { _ in
            channel.close(promise: nil)
        }
        if self.admitted, let id = self.registeredID {
            self.shard.schedule(id, at: self.shard.currentTick + self.environment.closeGraceTicks)
        }
    }

    private func flushIfNeeded() {
        guard self.needsFlush else { return }
        self.needsFlush = false
        self.context?.flush()
    }
}
