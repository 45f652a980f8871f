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
/// feeds the ``ConnectionStateMachine`` and carries out its actions. The protocol's rules
/// (what to answer, what to hold, drop or write, which deadline to arm) are the machine's;
/// the handler does the I/O, reads the clock (its shard's tick) and keeps the index, the
/// directory and the counters in step.
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
        self.stateMachine.inputReceived(now: self.shard.currentTick)
        let incoming = Self.unwrapInboundIn(data)
        switch self.framing {
        case .messages:
            do {
                let frame = try self.frameDecoder.single(from: incoming)
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

    /// Writes one encoded PUSH frame without flushing, if `session` is open, or has the
    /// machine hold it if the session's replay is loading or being written. Returns whether it
    /// was written or held.
    func writePush(_ frame: ByteBuffer, session: UInt16, kind: PushKind, seq: UInt32) -> Bool {
        guard let context else { return false }
        switch self.stateMachine.livePush(HeldPush(frame: frame, kind: kind, seq: seq), session: session) {
        case .held:
            return true
        case .drop:
            return false
        case .closeSlowConsumer:
            self.closeSlowConsumer()
            return false
        case .write:
            self.emit(frame, context: context)
            self.environment.metrics.pushesWritten.increment()
        case .writeFrames(let frames):
            for frame in frames { self.emit(frame, context: context) }
            self.environment.metrics.pushesWritten.increment(by: frames.count)
        }
        self.shard.markTouched(self)
        return true
    }

    /// Writes fan-out frames for `session` and flushes, in one write: the frames back to back
    /// on TCP, the batch's WebSocket messages on WebSocket; or as many of them as the machine
    /// says (it holds them while the session's replay is under way, and leaves out broadcasts
    /// the session already has). Flushed at once rather than at the end of the shard's slice,
    /// so that the first clients read while the pass goes on to the others.
    func writeBatch(_ batch: PushBatch, session: UInt16) {
        guard let context else { return }
        switch self.stateMachine.liveBatch(batch, session: session) {
        case .held, .drop:
            return
        case .closeSlowConsumer:
            self.closeSlowConsumer()
            return
        case .write:
            switch self.framing {
            case .stream:
                context.write(Self.wrapOutboundOut(batch.combined), promise: nil)
            case .messages:
                context.write(NIOAny(WebSocketFrameCodec.Outbound.framed(batch.webSocketFramed)), promise: nil)
            }
            self.environment.metrics.pushesWritten.increment(by: batch.frames.count)
        case .writeFrames(let frames):
            for frame in frames { self.emit(frame, context: context) }
            self.environment.metrics.pushesWritten.increment(by: frames.count)
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
            self.unindex(session)
            return true
        case .sessionEnded(let session, let goAway, let closeConnection):
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

    /// The timing wheel reached a deadline of this connection: the machine re-checks the
    /// real ones.
    func timerFired(tick: UInt64) {
        guard self.admitted, self.registeredID != nil else { return }
        self.run(self.stateMachine.deadlineReached(now: tick))
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
        if self.environment.isDrainingClients {
            self.refused = true
            let goAway = GoAway(
                session: 0, reason: .draining, reconnect: true, retryAfterMs: configuration.drainRetryAfterMs)
            self.writeAndClose(.goaway(goAway))
            return
        }
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
        self.connectionID = self.shard.register(self)
        self.run(self.stateMachine.connectionStarted(now: self.shard.currentTick))
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

    /// Until the first AUTH_OK, frames are held to the smaller limit (docs/protocol.md, "Frames").
    private var frameDecoder: FrameDecoder {
        self.stateMachine.isAuthenticated ? self.environment.frameDecoder : self.environment.frameDecoderBeforeAuth
    }

    /// Lifts the WebSocket layer's message limit to the authenticated one: until then it
    /// refuses a message longer than the smaller frame limit from its header.
    private func raiseWebSocketMessageLimit() {
        guard self.framing == .messages, let context,
            let codec = try? context.pipeline.syncOperations.handler(type: WebSocketFrameCodec.self)
        else { return }
        codec.raiseMessageLimit(to: self.environment.maxWebSocketMessageSize)
    }

    private func decodeStream(_ incoming: ByteBuffer, allocator: ByteBufferAllocator) {
        var buffer = self.partial.joined(with: incoming)
        do {
            while self.isOpen, let frame = try self.frameDecoder.next(from: &buffer) {
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
        let session: ConnectionStateMachine.Session
        switch self.stateMachine.authVerified(seq: seq, token: token, since: Date()) {
        case .loadReplay(let opening):
            session = opening
        case .closeConnection:
            self.closeNow()
            return
        }
        // Indexed before the store is read: whatever is stored from now on is held by the
        // machine, and whatever was stored before is in the replay (it drops the overlap).
        self.index(session)
        let eventLoop = context.eventLoop
        self.environment.replay.replay(for: token, resume: request.resume, on: eventLoop)
            .hop(to: eventLoop)
            .assumeIsolated()
            .whenComplete { result in
                switch result {
                case .success(let plan):
                    // Fan-out still queued on the shard reaches the session once it is open,
                    // less the broadcasts its replay carried (see liveBatch).
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
        case .closeConnection:
            self.closeNow()
            return
        case .sendError(let seq, let error, let closeConnection, let abandoned):
            if let abandoned { self.unindex(abandoned) }
            self.sendError(seq: seq, error, closeConnection: closeConnection)
        case .sessionOpenedAndEnded(let seq, let authOK, let goAway, let closeConnection):
            self.raiseWebSocketMessageLimit()
            self.write(.authOK(seq: seq, authOK))
            if closeConnection {
                self.writeAndClose(.goaway(goAway))
            } else {
                self.write(.goaway(goAway))
            }
        case .sessionOpened(let seq, _, let authOK, let replay, let replaced):
            self.raiseWebSocketMessageLimit()
            self.write(.authOK(seq: seq, authOK))
            if let replaced {
                self.write(.goaway(GoAway(session: replaced.number, reason: .replaced, reconnect: false)))
                self.unindex(replaced)
            }
            // The queued messages are taken after the held ones, once the replay is written.
            self.run(replay)
            return
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

    /// Writes a replay page and flushes; the machine hands out the next page once this one
    /// has gone to the socket, so a replay larger than the outbound limit reaches a slow reader
    /// at its own pace instead of closing it as a slow consumer. After the last page come the
    /// live messages held meanwhile, then the queued messages.
    private func run(_ action: ConnectionStateMachine.ReplayAction) {
        guard let context else { return }
        switch action {
        case .none:
            break
        case .writePage(let session, let pushes):
            let written = context.eventLoop.makePromise(of: Void.self)
            let allocator = context.channel.allocator
            for (index, push) in pushes.enumerated() {
                let frame = self.encodeReplayed(push, session: session, allocator: allocator)
                self.emit(frame, context: context, promise: index == pushes.count - 1 ? written : nil)
            }
            self.needsFlush = false
            context.flush()
            written.futureResult.assumeIsolated().whenSuccess {
                self.run(self.stateMachine.replayPageWritten(session: session))
            }
        case .writeLastPage(let session, let pushes):
            let allocator = context.channel.allocator
            for push in pushes {
                self.emit(self.encodeReplayed(push, session: session, allocator: allocator), context: context)
            }
            self.needsFlush = true
            self.run(self.stateMachine.replayWritten(session: session))
        case .writeHeld(let frames):
            for frame in frames { self.emit(frame, context: context) }
            if !frames.isEmpty {
                self.environment.metrics.pushesWritten.increment(by: frames.count)
                self.needsFlush = true
            }
            self.takeQueuedMessages()
        case .loadMore(let session, let more):
            let eventLoop = context.eventLoop
            more.next(on: eventLoop)
                .hop(to: eventLoop)
                .assumeIsolated()
                .whenComplete { result in
                    switch result {
                    case .success(let plan):
                        self.run(self.stateMachine.replayContinued(session: session, plan: plan))
                    case .failure(let error):
                        self.log(.debug, "replay failed", metadata: ["error": "\(error)"])
                        self.run(self.stateMachine.replayContinuationFailed(session: session))
                    }
                }
        case .fail(let error):
            self.sendError(seq: 0, error, closeConnection: true)
        }
    }

    /// Arms a deadline on the shard's wheel, or acts on one that passed.
    private func run(_ action: ConnectionStateMachine.TimerAction) {
        switch action {
        case .armDeadline(_, let tick):
            guard let id = self.registeredID else { return }
            self.shard.schedule(id, at: tick)
        case .sendErrorAndClose(let error):
            self.sendError(seq: 0, error, closeConnection: true)
        case .close(let deadline):
            if deadline == .idle { self.log(.debug, "closing idle connection") }
            self.closeNow()
        }
    }

    /// Closes a connection whose session got more live messages than the machine holds while
    /// its replay loads: a reader that cannot keep up.
    private func closeSlowConsumer() {
        self.environment.counters.slowConsumerClosed()
        self.environment.metrics.slowConsumersClosed.increment()
        self.log(.debug, "closing connection: too many live messages while its replay loads")
        self.closeNow()
    }

    private func encodeReplayed(_ push: ReplayPlan.Push, session: UInt16, allocator: ByteBufferAllocator) -> ByteBuffer
    {
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
        self.environment.observer?.sessionOpened(
            session.info(node: self.environment.configuration.nodeID, connection: id, generation: generation)
        )
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
        let generation = self.shard.removeSession(
            key, app: session.app, user: session.user, topics: session.subscriptions)
        if let observer = self.environment.observer, let generation {
            observer.sessionClosed(
                session.info(node: self.environment.configuration.nodeID, connection: id, generation: generation)
            )
        }
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
        if self.admitted, self.registeredID != nil {
            self.run(self.stateMachine.lastFrameWritten(now: self.shard.currentTick))
        }
    }

    private func flushIfNeeded() {
        guard self.needsFlush else { return }
        self.needsFlush = false
        self.context?.flush()
    }
}
