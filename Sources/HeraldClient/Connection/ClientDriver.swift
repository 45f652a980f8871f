import HeraldWire
import Logging
import NIOCore

/// Carries out what ``ClientStateMachine`` decides: writes frames, runs the timers, completes
/// the app's requests and feeds ``HeraldClient/events``.
///
/// Lives on one event loop: every connection of the client is opened on it, and every method
/// must be called on it (the driver is reached through a `NIOLoopBoundBox`).
final class ClientDriver {
    typealias Events = NIOAsyncSequenceProducer<
        HeraldClientEvent, NIOAsyncSequenceProducerBackPressureStrategies.HighLowWatermark, EventsDelegate
    >

    let eventLoop: any EventLoop
    private let configuration: HeraldClientConfiguration
    private let logger: Logger

    private var machine: ClientStateMachine
    /// Set right after creation, before anything can be yielded (see ``HeraldClient/init``).
    var source: Events.Source?
    private var channel: (any Channel)?
    private var token: String?
    private var outcome: EventLoopPromise<ClientStateMachine.Outcome>?
    private var heartbeat: RepeatedTask?
    private var authTimeout: Scheduled<Void>?
    private var requests: [UInt32: (promise: EventLoopPromise<Void>, timeout: Scheduled<Void>)] = [:]
    private var reconnectWait: (task: Scheduled<Void>, promise: EventLoopPromise<Bool>)?
    /// Whether the consumer of the events wants more; when not, the socket is not read.
    private var consumerWantsMore = true

    init(configuration: HeraldClientConfiguration, eventLoop: any EventLoop, logger: Logger) {
        self.configuration = configuration
        self.eventLoop = eventLoop
        self.logger = logger
        self.machine = ClientStateMachine(resume: configuration.resume, topics: configuration.topics)
    }

    var cursors: HeraldResumeCursors { self.machine.cursors }
    var session: HeraldSession? { self.machine.session }

    // MARK: Connection lifecycle

    /// Starts a connection attempt with `token`. The future completes when the connection
    /// has ended (or could not be opened) with what should follow.
    func beginConnection(token: String) -> EventLoopFuture<ClientStateMachine.Outcome> {
        guard self.machine.startConnecting() else {
            return self.eventLoop.makeSucceededFuture(.stop(.closedByClient))
        }
        let promise = self.eventLoop.makePromise(of: ClientStateMachine.Outcome.self)
        self.outcome = promise
        self.token = token
        return promise.futureResult
    }

    /// The bootstrap created the channel of the current attempt (its handlers are being added).
    func attach(_ channel: any Channel) {
        self.channel = channel
        let driver = NIOLoopBound(self, eventLoop: self.eventLoop)
        channel.closeFuture.whenComplete { _ in driver.value.channelClosed(channel) }
        if !self.consumerWantsMore {
            channel.setOption(ChannelOptions.autoRead, value: false).whenFailure { _ in }
        }
        if self.machine.isClosing {
            channel.close(promise: nil)
        }
    }

    /// The attempt failed before the connection opened.
    func connectFailed(_ error: any Error) {
        self.logger.debug("Herald connect failed", metadata: ["error": "\(error)"])
        if let channel = self.channel {
            self.channel = nil
            channel.close(promise: nil)
        }
        if let outcome = self.machine.connectFailed("\(error)") {
            self.finishConnection(outcome)
        }
    }

    /// The connection is open (TCP connected or WebSocket upgraded): authenticate.
    func connectionReady(_ channel: any Channel) {
        guard channel === self.channel, let token = self.token else { return }
        self.token = nil
        guard let auth = self.machine.connectionEstablished(token: token) else { return }
        channel.writeAndFlush(auth, promise: nil)
        let driver = NIOLoopBound(self, eventLoop: self.eventLoop)
        self.authTimeout = self.eventLoop.scheduleTask(in: TimeAmount(self.configuration.requestTimeout)) {
            driver.value.authenticationTimedOut(channel)
        }
    }

    func frameReceived(_ frame: Frame, on channel: any Channel) {
        guard channel === self.channel else { return }
        let action = self.machine.frameReceived(frame, now: .now())
        self.run(action, on: channel)
    }

    func errorCaught(_ error: any Error, on channel: any Channel) {
        guard channel === self.channel else { return }
        self.logger.debug("Herald connection error", metadata: ["error": "\(error)"])
        if let error = error as? ProtocolError {
            self.run(self.machine.decodingFailed(error), on: channel)
        }
        // Anything else is an I/O error: the handler closes the channel and the close decides.
    }

    /// Waits `delay` before the next attempt. Succeeds with `false` if the client was closed meanwhile.
    func waitToReconnect(_ delay: TimeAmount) -> EventLoopFuture<Bool> {
        guard !self.machine.isFinished else { return self.eventLoop.makeSucceededFuture(false) }
        let promise = self.eventLoop.makePromise(of: Bool.self)
        let driver = NIOLoopBound(self, eventLoop: self.eventLoop)
        let task = self.eventLoop.scheduleTask(in: delay) {
            driver.value.reconnectWait = nil
            promise.succeed(true)
        }
        self.reconnectWait = (task, promise)
        return promise.futureResult
    }

    /// Closes the client: the current connection, or the wait before the next one.
    func close() -> EventLoopFuture<Void> {
        switch self.machine.close() {
        case .finished:
            if let wait = self.reconnectWait {
                self.reconnectWait = nil
                wait.task.cancel()
                wait.promise.succeed(false)
            }
            return self.eventLoop.makeSucceededVoidFuture()
        case .closeConnection:
            guard let channel = self.channel else { return self.eventLoop.makeSucceededVoidFuture() }
            channel.close(promise: nil)
            return channel.closeFuture
        case .none:
            return self.channel?.closeFuture ?? self.eventLoop.makeSucceededVoidFuture()
        }
    }

    /// Reports an event to the consumer, and stops reading when the consumer is behind.
    func yield(_ event: HeraldClientEvent) {
        guard let source = self.source else { return }
        switch source.yield(event) {
        case .produceMore, .dropped:
            break
        case .stopProducing:
            self.consumerWantsMore = false
            self.channel?.setOption(ChannelOptions.autoRead, value: false).whenFailure { _ in }
        }
    }

    /// No more events will come.
    func finishEvents() {
        self.source?.finish()
        self.source = nil
    }

    /// The consumer caught up: read again.
    func produceMore() {
        guard !self.consumerWantsMore else { return }
        self.consumerWantsMore = true
        if let channel = self.channel {
            channel.setOption(ChannelOptions.autoRead, value: true).whenFailure { _ in }
            channel.read()
        }
    }

    /// Nobody consumes the events any more: keep reading, so that the connection stays healthy.
    func consumerTerminated() {
        self.source = nil
        self.produceMore()
    }

    // MARK: Requests

    func subscribe(_ topics: [String]) -> EventLoopFuture<Void> {
        self.send(self.machine.subscribe(topics))
    }

    func unsubscribe(_ topics: [String]) -> EventLoopFuture<Void> {
        self.send(self.machine.unsubscribe(topics))
    }

    func upstream(_ payload: ByteBuffer) -> EventLoopFuture<Void> {
        self.send(self.machine.upstream(payload))
    }

    func acknowledge(_ seq: UInt32) {
        if let ack = self.machine.acknowledge(seq), let channel = self.channel {
            channel.writeAndFlush(ack, promise: nil)
        }
    }

    // MARK: Private

    private func send(_ action: ClientStateMachine.RequestAction) -> EventLoopFuture<Void> {
        switch action {
        case .fail(let error):
            return self.eventLoop.makeFailedFuture(error)
        case .send(let id, let frame):
            guard let channel = self.channel else {
                // The state machine only sends when a connection is authenticated.
                _ = self.machine.requestTimedOut(id)
                return self.eventLoop.makeFailedFuture(HeraldClientError.notConnected)
            }
            let promise = self.eventLoop.makePromise(of: Void.self)
            let driver = NIOLoopBound(self, eventLoop: self.eventLoop)
            let timeout = self.eventLoop.scheduleTask(in: TimeAmount(self.configuration.requestTimeout)) {
                driver.value.requestTimedOut(id)
            }
            self.requests[id] = (promise, timeout)
            channel.writeAndFlush(frame, promise: nil)
            return promise.futureResult
        }
    }

    private func requestTimedOut(_ id: UInt32) {
        guard self.machine.requestTimedOut(id), let request = self.requests.removeValue(forKey: id) else { return }
        request.promise.fail(HeraldClientError.timedOut)
    }

    private func completeRequest(_ id: UInt32, with error: HeraldClientError?) {
        guard let request = self.requests.removeValue(forKey: id) else { return }
        request.timeout.cancel()
        if let error {
            request.promise.fail(error)
        } else {
            request.promise.succeed()
        }
    }

    private func run(_ action: ClientStateMachine.FrameAction, on channel: any Channel) {
        switch action {
        case .none:
            break
        case .authenticated(let session, let interval, let frames):
            self.authTimeout?.cancel()
            self.authTimeout = nil
            self.logger.debug(
                "Herald session authenticated",
                metadata: ["herald.session": "\(session.id)", "herald.node": "\(session.node)"]
            )
            self.yield(.connected(session))
            let driver = NIOLoopBound(self, eventLoop: self.eventLoop)
            self.heartbeat = self.eventLoop.scheduleRepeatedTask(initialDelay: interval, delay: interval) { _ in
                driver.value.heartbeatFired(channel)
            }
            for frame in frames {
                channel.write(frame, promise: nil)
            }
            channel.flush()
        case .deliver(let push):
            self.yield(.push(push))
        case .send(let frame):
            channel.writeAndFlush(frame, promise: nil)
        case .succeedRequest(let id):
            self.completeRequest(id, with: nil)
        case .failRequest(let id, let error, let closeConnection):
            self.completeRequest(id, with: error)
            if closeConnection {
                channel.close(promise: nil)
            }
        case .subscriptionFailed(let topics, let error):
            self.yield(.subscriptionFailed(topics: topics, error))
        case .goaway(let goaway):
            self.yield(.goaway(goaway))
            channel.close(promise: nil)
        case .closeConnection:
            channel.close(promise: nil)
        }
    }

    private func heartbeatFired(_ channel: any Channel) {
        guard channel === self.channel else { return }
        switch self.machine.heartbeatTimerFired(now: .now()) {
        case .none:
            break
        case .sendPing(let ping):
            channel.writeAndFlush(ping, promise: nil)
        case .closeConnection:
            self.logger.debug("Herald connection missed its heartbeat")
            channel.close(promise: nil)
        }
    }

    private func authenticationTimedOut(_ channel: any Channel) {
        guard channel === self.channel, self.machine.authenticationTimedOut() else { return }
        channel.close(promise: nil)
    }

    private func channelClosed(_ channel: any Channel) {
        guard channel === self.channel else { return }
        self.channel = nil
        if let outcome = self.machine.connectionClosed() {
            self.finishConnection(outcome)
        }
    }

    private func finishConnection(_ outcome: ClientStateMachine.Outcome) {
        self.heartbeat?.cancel()
        self.heartbeat = nil
        self.authTimeout?.cancel()
        self.authTimeout = nil
        self.token = nil
        for id in self.machine.takePendingRequests() {
            self.completeRequest(id, with: .connectionClosed)
        }
        // Requests the machine no longer knows (timed out meanwhile) are failed too.
        for id in Array(self.requests.keys) {
            self.completeRequest(id, with: .connectionClosed)
        }
        let promise = self.outcome
        self.outcome = nil
        promise?.succeed(outcome)
    }
}
