import HeraldRESP
import Logging
import NIOCore

/// Runs a ``RedisConnectionStateMachine`` on a channel: it feeds it the channel's events and
/// carries out the actions it returns, and holds nothing else of the connection's state.
final class RedisChannelHandler: ChannelDuplexHandler {
    typealias InboundIn = RESPToken
    typealias OutboundIn = RedisRequest
    typealias OutboundOut = ByteBuffer

    private typealias StateMachine = RedisConnectionStateMachine<EventLoopPromise<RESPToken>>

    private var state: StateMachine
    private var encoder = RESPCommandEncoder()
    private var timer: Scheduled<Void>?
    private var context: ChannelHandlerContext?
    private let connectTimeout: TimeAmount
    private let commandTimeout: TimeAmount
    private let handshakePromise: EventLoopPromise<RESPVersion>
    private let onPush: (@Sendable (RESPToken) -> Void)?
    private let logger: Logger
    /// A sentence for an error of the TLS handler, nil for any other error.
    private let describeTLSFailure: @Sendable (any Error) -> String?

    init(
        configuration: RedisConfiguration,
        handshakePromise: EventLoopPromise<RESPVersion>,
        onPush: (@Sendable (RESPToken) -> Void)?,
        logger: Logger,
        describeTLSFailure: @escaping @Sendable (any Error) -> String?
    ) {
        self.state = StateMachine(
            handshake: .init(username: configuration.username, password: configuration.password, database: configuration.database)
        )
        self.connectTimeout = configuration.connectTimeout
        self.commandTimeout = configuration.commandTimeout
        self.handshakePromise = handshakePromise
        self.onPush = onPush
        self.logger = logger
        self.describeTLSFailure = describeTLSFailure
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        if context.channel.isActive {
            self.run(self.state.channelActive(deadline: .now() + self.connectTimeout), context: context)
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        self.timer?.cancel()
        self.timer = nil
    }

    func channelActive(context: ChannelHandlerContext) {
        self.run(self.state.channelActive(deadline: .now() + self.connectTimeout), context: context)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.run(self.state.channelInactive(), context: context)
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        self.run(self.state.receivedToken(self.unwrapInboundIn(data)), context: context)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        self.logger.debug("The Redis connection failed.", metadata: ["error": "\(error)"])
        if let sentence = self.describeTLSFailure(error) {
            self.run(self.state.errorCaught(RedisClientError(.connectFailed, message: sentence)), context: context)
        } else {
            self.run(self.state.errorCaught(error), context: context)
        }
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let request = self.unwrapOutboundIn(data)
        let deadline = NIODeadline.now() + self.commandTimeout
        let pending = request.entries.map { StateMachine.Pending(request: $0.promise, kind: $0.kind, deadline: deadline) }
        switch self.state.sendRequests(pending) {
        case .write(let timer):
            self.encoder.reset()
            for entry in request.entries {
                self.encoder.encode(entry.command)
            }
            self.apply(timer, context: context)
            context.writeAndFlush(self.wrapOutboundOut(self.encoder.buffer), promise: promise)
        case .refuse(let error):
            request.fail(error)
            promise?.fail(error)
        default:
            promise?.succeed()
        }
    }

    func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        // A close from the connection waits for the replies already due; the channel closes
        // once they are in (or their deadline passes).
        guard mode == .all else {
            context.close(mode: mode, promise: promise)
            return
        }
        switch self.state.close() {
        case .close(let handshakeError, let failing):
            self.apply(.cancel, context: context)
            if let handshakeError { self.handshakePromise.fail(handshakeError) }
            for (pending, error) in failing {
                pending.fail(error)
            }
            context.close(mode: mode, promise: promise)
        default:
            context.channel.closeFuture.cascade(to: promise)
        }
    }

    private func run(_ action: StateMachine.Action, context: ChannelHandlerContext) {
        switch action {
        case .none:
            break
        case .sendHandshakeCommand(let command, let timer):
            self.apply(timer, context: context)
            self.encoder.reset()
            self.encoder.encode(command)
            context.writeAndFlush(self.wrapOutboundOut(self.encoder.buffer), promise: nil)
        case .handshakeCompleted(let version):
            self.apply(.cancel, context: context)
            self.handshakePromise.succeed(version)
        case .write(let timer):
            self.apply(timer, context: context)
        case .refuse:
            break
        case .deliver(let push, let completed, let timer, let close):
            self.apply(timer, context: context)
            if let push { self.onPush?(push) }
            if let (promise, result) = completed { promise.completeWith(result.mapError { $0 }) }
            if close { context.close(promise: nil) }
        case .close(let handshakeError, let failing):
            self.apply(.cancel, context: context)
            if let handshakeError { self.handshakePromise.fail(handshakeError) }
            for (promise, error) in failing {
                promise.fail(error)
            }
            if context.channel.isActive { context.close(promise: nil) }
        }
    }

    private func apply(_ timer: StateMachine.TimerAction, context: ChannelHandlerContext) {
        switch timer {
        case .keep:
            break
        case .cancel:
            self.timer?.cancel()
            self.timer = nil
        case .schedule(let deadline):
            self.timer?.cancel()
            self.timer = context.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) {
                self.timerFired()
            }
        }
    }

    private func timerFired() {
        self.timer = nil
        guard let context = self.context else { return }
        let action = self.state.timeoutFired(now: .now())
        if case .close = action {
            self.logger.debug("A Redis command timed out; the connection is closed.")
        }
        self.run(action, context: context)
    }
}
