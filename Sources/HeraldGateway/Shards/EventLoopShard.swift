import CoreMetrics
import HeraldCore
import HeraldWire
import NIOConcurrencyHelpers
import NIOCore

/// Everything one event loop knows about its connections: the session indexes used for
/// fan-out, the timing wheel, the connections waiting for their end-of-tick flush, and the
/// fan-out pass that writes broadcasts and topic messages a slice at a time.
///
/// `@unchecked Sendable`: the gateway hands the shard to its event loop with
/// `execute`/`submit`, and every mutable property is touched only on `eventLoop`
/// (each entry point asserts it). The exception is the three session indexes, which the API
/// reads from its own threads to count a message's sessions without waiting for the loop:
/// the loop changes them under `indexLock` and reads them without it (it is their only
/// writer); every other thread reads them under the lock (the `count…` methods).
final class EventLoopShard: @unchecked Sendable {
    // Keyed by the ids' bytes (``ByteString``), as the stores compare them.
    private struct UserKey: Hashable {
        var app: ByteString
        var user: ByteString

        init(app: String, user: String) {
            self.app = ByteString(app)
            self.user = ByteString(user)
        }
    }

    private struct TopicKey: Hashable {
        var app: ByteString
        var topic: ByteString

        init(app: ByteString, topic: ByteString) {
            self.app = app
            self.topic = topic
        }

        init(app: String, topic: String) {
            self.init(app: ByteString(app), topic: ByteString(topic))
        }
    }

    /// How the fan-out pass shares the loop (see ``GatewayConfiguration``).
    struct SliceLimits: Sendable {
        /// Connections written in one slice at most.
        var connections: Int
        /// Time one slice may take at most (checked every few connections).
        var duration: TimeAmount
        /// How long the next slice waits once a slice gives the loop back: long enough that
        /// the loop returns to epoll and serves the I/O that is ready (a task that is due at
        /// once would run in the same loop tick, before any I/O).
        var pause: TimeAmount

        init(connections: Int, duration: TimeAmount, pause: TimeAmount) {
            self.connections = connections
            self.duration = duration
            self.pause = pause
        }

        init(_ configuration: GatewayConfiguration) {
            self.init(
                connections: configuration.fanOutSliceConnections,
                duration: TimeAmount(configuration.fanOutSliceDuration),
                pause: TimeAmount(configuration.fanOutSlicePause)
            )
        }
    }

    let eventLoop: any EventLoop
    private let tickInterval: TimeAmount

    private var wheel = TimingWheel<ConnectionID>()
    private var tickTask: RepeatedTask?
    private var connections: [ConnectionID: ConnectionHandler] = [:]
    private var nextConnectionID: UInt64 = 1
    private struct UserSession: Hashable {
        var key: SessionKey
        var device: ByteString
        var generation: UInt64
    }

    /// Sessions by (app, user), with each session's device and generation. A user has one
    /// or a few sessions: an array costs far less per user than a dictionary.
    private var byUser: [UserKey: [UserSession]] = [:]
    private var byApp: [ByteString: Set<SessionKey>] = [:]
    private var byTopic: [TopicKey: Set<SessionKey>] = [:]
    private var touched: [ConnectionHandler] = []
    /// The apps' token keys, readied once per loop rather than for every AUTH.
    var tokenKeys = TokenKeys()
    /// Guards the indexes' changes (on the loop) against the API's counts (elsewhere).
    private let indexLock = NIOLock()
    /// Room in the queue for the next fan-out pass.
    let admission: HandOverAdmission
    /// Room for user-message writes handed to the loop and not yet run.
    let userAdmission = HandOverAdmission(limit: 64)
    private let sliceLimits: SliceLimits
    private let counters: GatewayCounters?
    private let metrics: GatewayMetrics?
    private var fanOut = FanOutQueue()
    private var pass: FanOutPass?
    private var sliceScheduled = false
    private var flushScheduled = false
    /// The other loops' shards; set once, before the gateway starts.
    private var peers: [EventLoopShard] = []
    /// Sessions opened here in this tick whose older namesakes the other loops must end.
    private var outgoingReplacements: [Replacement] = []

    /// A session that opened on one loop: the other loops end older sessions of its device.
    struct Replacement: Sendable {
        var app: String
        var user: String
        var device: String
        var generation: UInt64
    }

    /// The configuration's defaults: about a millisecond or 2,048 connections a slice,
    /// whichever comes first (a loopback write costs 11 to 15 µs here), then a rest of 100 µs.
    static let defaultSliceLimits = SliceLimits(GatewayConfiguration())

    init(
        eventLoop: any EventLoop,
        tickInterval: TimeAmount,
        sliceLimits: SliceLimits = EventLoopShard.defaultSliceLimits,
        queueLimit: Int = 64,
        counters: GatewayCounters? = nil,
        metrics: GatewayMetrics? = nil
    ) {
        self.eventLoop = eventLoop
        self.tickInterval = tickInterval
        self.sliceLimits = SliceLimits(
            connections: max(1, sliceLimits.connections),
            duration: sliceLimits.duration,
            pause: sliceLimits.pause
        )
        self.admission = HandOverAdmission(limit: queueLimit)
        self.counters = counters
        self.metrics = metrics
    }

    /// Tells the shard about the other loops' shards. Call once, before the gateway starts
    /// and before the shard is shared with its loop.
    func setPeers(_ shards: [EventLoopShard]) {
        self.peers = shards.filter { $0 !== self }
    }

    /// The wheel's clock: ticks since the shard started.
    var currentTick: UInt64 {
        self.eventLoop.assertInEventLoop()
        return self.wheel.currentTick
    }

    /// Connections on this loop.
    var connectionCount: Int {
        self.eventLoop.assertInEventLoop()
        return self.connections.count
    }

    /// Sessions on this loop.
    var sessionCount: Int {
        self.eventLoop.assertInEventLoop()
        return self.byApp.values.reduce(0) { $0 + $1.count }
    }

    // MARK: Timer

    /// Starts the one repeated task that ticks the wheel. Call on any thread.
    func start() {
        let interval = self.tickInterval
        self.eventLoop.execute {
            guard self.tickTask == nil else { return }
            self.tickTask = self.eventLoop.scheduleRepeatedTask(initialDelay: interval, delay: interval) { _ in
                self.tick()
            }
        }
    }

    /// Stops the wheel's task. Call on the loop.
    func stop() {
        self.eventLoop.assertInEventLoop()
        self.tickTask?.cancel()
        self.tickTask = nil
    }

    /// Advances the wheel by one tick and lets the due connections re-check their deadlines.
    func tick() {
        self.eventLoop.assertInEventLoop()
        let now = self.wheel.currentTick + 1
        for id in self.wheel.advance(to: now) {
            self.connections[id]?.timerFired(tick: now)
        }
    }

    /// Asks the wheel to call the connection back at `tick` (lazily: it re-checks then).
    func schedule(_ id: ConnectionID, at tick: UInt64) {
        self.eventLoop.assertInEventLoop()
        self.wheel.schedule(id, at: tick)
    }

    // MARK: Connections and indexes

    func register(_ connection: ConnectionHandler) -> ConnectionID {
        self.eventLoop.assertInEventLoop()
        let id = ConnectionID(rawValue: self.nextConnectionID)
        self.nextConnectionID += 1
        self.connections[id] = connection
        return id
    }

    func unregister(_ id: ConnectionID) {
        self.eventLoop.assertInEventLoop()
        self.connections[id] = nil
    }

    func addSession(_ key: SessionKey, app: String, user: String, device: String, generation: UInt64) {
        self.eventLoop.assertInEventLoop()
        let session = UserSession(key: key, device: ByteString(device), generation: generation)
        let userKey = UserKey(app: app, user: user)
        self.indexLock.withLock {
            if let index = self.byUser[userKey]?.firstIndex(where: { $0.key == key }) {
                self.byUser[userKey]?[index] = session
            } else {
                self.byUser[userKey, default: []].append(session)
            }
            self.byApp[ByteString(app), default: []].insert(key)
        }
    }

    /// Removes a session from the indexes; returns its generation if it was indexed.
    @discardableResult
    func removeSession(_ key: SessionKey, app: String, user: String, topics: Set<ByteString>) -> UInt64? {
        self.eventLoop.assertInEventLoop()
        let userKey = UserKey(app: app, user: user)
        let generation = self.indexLock.withLock { () -> UInt64? in
            let generation = self.byUser[userKey]?.first { $0.key == key }?.generation
            self.byUser[userKey]?.removeAll { $0.key == key }
            if self.byUser[userKey]?.isEmpty == true { self.byUser[userKey] = nil }
            let appKey = ByteString(app)
            self.byApp[appKey]?.remove(key)
            if self.byApp[appKey]?.isEmpty == true { self.byApp[appKey] = nil }
            return generation
        }
        self.unsubscribe(key, app: app, topics: topics)
        return generation
    }

    /// The sessions of a user on this loop, open or opening.
    func sessions(app: String, user: String, node: String) -> [SessionInfo] {
        self.eventLoop.assertInEventLoop()
        guard let sessions = self.byUser[UserKey(app: app, user: user)] else { return [] }
        return sessions.compactMap { entry in
            self.connections[entry.key.connection]?.session(entry.key.session)?
                .info(node: node, connection: entry.key.connection, generation: entry.generation)
        }
    }

    /// The app's sessions on this loop, and its users (to count across loops without
    /// counting twice a user who is on both).
    func onlineCounts(app: String) -> (sessions: Int, users: Set<ByteString>) {
        self.eventLoop.assertInEventLoop()
        let appKey = ByteString(app)
        var users = Set<ByteString>()
        for key in self.byUser.keys where key.app == appKey {
            users.insert(key.user)
        }
        return (self.byApp[appKey]?.count ?? 0, users)
    }

    func subscribe(_ key: SessionKey, app: String, topics: some Sequence<ByteString>) {
        self.eventLoop.assertInEventLoop()
        let appKey = ByteString(app)
        self.indexLock.withLock {
            for topic in topics {
                self.byTopic[TopicKey(app: appKey, topic: topic), default: []].insert(key)
            }
        }
    }

    func unsubscribe(_ key: SessionKey, app: String, topics: some Sequence<ByteString>) {
        self.eventLoop.assertInEventLoop()
        guard !self.byTopic.isEmpty else { return }
        let appKey = ByteString(app)
        self.indexLock.withLock {
            for topic in topics {
                let topicKey = TopicKey(app: appKey, topic: topic)
                self.byTopic[topicKey]?.remove(key)
                if self.byTopic[topicKey]?.isEmpty == true { self.byTopic[topicKey] = nil }
            }
        }
    }

    // MARK: Counts, from any thread

    /// The app's sessions on this loop, open or opening.
    func countSessions(app: String) -> Int {
        self.indexLock.withLock { self.byApp[ByteString(app)]?.count ?? 0 }
    }

    /// The sessions of the users on this loop, each user counted once however often listed.
    func countSessions(app: String, users: [String]) -> Int {
        self.indexLock.withLock {
            guard !self.byUser.isEmpty else { return 0 }
            if users.count == 1, let user = users.first {
                return self.byUser[UserKey(app: app, user: user)]?.count ?? 0
            }
            var seen = Set<ByteString>()
            var total = 0
            for user in users where seen.insert(ByteString(user)).inserted {
                total += self.byUser[UserKey(app: app, user: user)]?.count ?? 0
            }
            return total
        }
    }

    /// The sessions of each delivery's user on this loop (stored messages).
    func countSessions(app: String, deliveries: [UserSequence]) -> Int {
        self.indexLock.withLock {
            guard !self.byUser.isEmpty else { return 0 }
            return deliveries.reduce(0) { $0 + (self.byUser[UserKey(app: app, user: $1.user)]?.count ?? 0) }
        }
    }

    /// The sessions on this loop subscribed to `topic`.
    func countSubscribers(app: String, topic: String) -> Int {
        self.indexLock.withLock { self.byTopic[TopicKey(app: app, topic: topic)]?.count ?? 0 }
    }

    // MARK: Flushing

    /// Notes that `connection` has unflushed writes; all such connections are flushed once,
    /// together, when the loop gets to the flush pass it schedules.
    func markTouched(_ connection: ConnectionHandler) {
        self.eventLoop.assertInEventLoop()
        guard !connection.flushPending else { return }
        connection.flushPending = true
        self.touched.append(connection)
        self.scheduleFlush()
    }

    private func scheduleFlush() {
        if !self.flushScheduled {
            self.flushScheduled = true
            self.eventLoop.execute { self.flushTouched() }
        }
    }

    /// Flushes every connection written to since the last flush (unicasts, replies). Cheap:
    /// the fan-out pass flushes its own writes.
    private func flushTouched() {
        self.eventLoop.assertInEventLoop()
        self.flushScheduled = false
        let touched = self.touched
        self.touched.removeAll(keepingCapacity: true)
        for connection in touched {
            connection.flushPending = false
            connection.flush()
        }
    }

    // MARK: Fan-out pass

    /// Queues a fan-out message on the loop and makes sure a slice will run.
    private func queue(_ push: FanOutQueue.Push, for target: FanOutQueue.Target) {
        self.eventLoop.assertInEventLoop()
        self.fanOut.append(push, for: target)
        if !self.sliceScheduled {
            self.sliceScheduled = true
            self.eventLoop.execute { self.runSlice() }
        }
    }

    /// Writes the next slice of the fan-out pass: connections until the slice's count or time
    /// is used up. When a pass ends, whatever was queued meanwhile starts the next one at once,
    /// all of it in one write per connection. While work is left, the next slice is scheduled
    /// a moment later, so that the loop serves its I/O (AUTHs, PINGs, reads) in between.
    private func runSlice() {
        self.eventLoop.assertInEventLoop()
        self.sliceScheduled = false
        let started = NIODeadline.now()
        let limits = self.sliceLimits
        var written = 0
        var pass = self.pass ?? FanOutPass([], sessions: { _ in nil })
        self.pass = nil
        var passesStarted = 0
        writing: while written < limits.connections {
            guard let (key, batch) = pass.next() else {
                guard !self.fanOut.isEmpty else { break writing }
                let taken = self.fanOut.count
                pass = FanOutPass(self.fanOut.take(), sessions: self.sessions(of:))
                self.admission.taken(taken)
                passesStarted += 1
                continue
            }
            guard let connection = self.connections[key.connection] else { continue }
            connection.writeBatch(batch, session: key.session)
            written += 1
            if written & 15 == 0, NIODeadline.now() - started >= limits.duration { break writing }
        }
        let finished = pass.isFinished && self.fanOut.isEmpty
        if !pass.isFinished { self.pass = pass }
        let elapsed = NIODeadline.now() - started
        self.counters?.fanOutSlice(nanoseconds: elapsed.nanoseconds, passes: passesStarted)
        self.metrics?.fanOutSlice.recordNanoseconds(elapsed.nanoseconds)
        if !finished {
            self.sliceScheduled = true
            self.eventLoop.scheduleTask(in: limits.pause) { self.runSlice() }
        }
    }

    /// The sessions a fan-out target has now.
    private func sessions(of target: FanOutQueue.Target) -> Set<SessionKey>? {
        switch target {
        case .app(let app): self.byApp[app]
        case .topic(let app, let topic): self.byTopic[TopicKey(app: app, topic: topic)]
        }
    }

    /// Whether a fan-out pass is under way or messages wait for one.
    var hasFanOutWork: Bool {
        self.eventLoop.assertInEventLoop()
        return self.pass != nil || !self.fanOut.isEmpty
    }

    // MARK: Delivery

    /// Writes a QoS 0 user message (kind 0, seq 0) to the online sessions of `users`.
    func sendToUsers(app: String, users: [String], payload: ByteBuffer) -> Int {
        self.eventLoop.assertInEventLoop()
        var targets: [SessionKey] = []
        // Each user once, however often listed: by bytes, like the index.
        for user in Set(users.map { ByteString($0) }) {
            if let sessions = self.byUser[UserKey(app: app, user: user.string)] {
                targets.append(contentsOf: sessions.lazy.map(\.key))
            }
        }
        return self.writeUserMessage(to: targets, seq: 0, payload: payload)
    }

    /// Writes stored QoS 1 user messages: each user's copy with its own inbox sequence and
    /// `ACK_REQUIRED`, to the user's online sessions.
    func sendStored(app: String, deliveries: [UserSequence], payload: ByteBuffer) -> Int {
        self.eventLoop.assertInEventLoop()
        var written = 0
        for delivery in deliveries {
            guard let sessions = self.byUser[UserKey(app: app, user: delivery.user)] else { continue }
            written += self.writeUserMessage(
                to: sessions.map(\.key),
                seq: delivery.seq,
                flags: .ackRequired,
                payload: payload
            )
        }
        return written
    }

    /// Writes several user messages, in order; returns each one's number of sessions.
    func sendUserMessages(app: String, _ messages: [UserDelivery]) -> [Int] {
        self.eventLoop.assertInEventLoop()
        return messages.map { message in
            switch message {
            case .live(let users, let payload):
                self.sendToUsers(app: app, users: users, payload: payload)
            case .stored(let deliveries, let payload):
                self.sendStored(app: app, deliveries: deliveries, payload: payload)
            }
        }
    }

    /// Queues a broadcast (kind 1, its sequence, never ACK_REQUIRED) for every session of
    /// `app`, written by the fan-out pass. Call on any thread: it does not wait for the loop,
    /// only, when the queue for the next pass is full, for the running pass to end (see
    /// ``HandOverAdmission``). Returns the number of the app's sessions on this loop when it was
    /// queued.
    func broadcast(app: String, seq: UInt32, payload: ByteBuffer) async -> Int {
        await self.handOff(
            .init(seq: seq, kind: .broadcast, topic: "", payload: payload),
            for: .app(ByteString(app)),
            sessions: { $0.countSessions(app: app) }
        )
    }

    /// Queues a topic message (kind 2, seq 0) for the sessions of `app` subscribed to `topic`,
    /// as ``broadcast(app:seq:payload:)`` queues a broadcast. Returns the number of those
    /// sessions on this loop when it was queued.
    func publish(app: String, topic: String, payload: ByteBuffer) async -> Int {
        await self.handOff(
            .init(seq: 0, kind: .topic, topic: topic, payload: payload),
            for: .topic(app: ByteString(app), topic: ByteString(topic)),
            sessions: { $0.countSubscribers(app: app, topic: topic) }
        )
    }

    /// ``broadcast(app:seq:payload:)`` from the shard's own loop, which must not suspend:
    /// the queue may pass its limit by such messages.
    func broadcastOnLoop(app: String, seq: UInt32, payload: ByteBuffer) -> Int {
        self.queueOnLoop(
            .init(seq: seq, kind: .broadcast, topic: "", payload: payload),
            for: .app(ByteString(app)),
            sessions: self.countSessions(app: app)
        )
    }

    /// ``publish(app:topic:payload:)`` from the shard's own loop.
    func publishOnLoop(app: String, topic: String, payload: ByteBuffer) -> Int {
        self.queueOnLoop(
            .init(seq: 0, kind: .topic, topic: topic, payload: payload),
            for: .topic(app: ByteString(app), topic: ByteString(topic)),
            sessions: self.countSubscribers(app: app, topic: topic)
        )
    }

    private func queueOnLoop(_ push: FanOutQueue.Push, for target: FanOutQueue.Target, sessions: Int) -> Int {
        self.eventLoop.assertInEventLoop()
        guard sessions > 0 else { return 0 }
        self.admission.admitNow()
        self.queue(push, for: target)
        return sessions
    }

    private func handOff(
        _ push: FanOutQueue.Push,
        for target: FanOutQueue.Target,
        sessions: (EventLoopShard) -> Int
    ) async -> Int {
        var count = sessions(self)
        guard count > 0 else { return 0 }
        // Counted again after a wait, so the figure is the audience the message was queued for.
        if await self.admission.admit() { count = sessions(self) }
        self.eventLoop.execute { self.queue(push, for: target) }
        return count
    }

    /// Ends the sessions of a user (of one device, if given) with GOAWAY `reason`: those
    /// with a generation below `generation` (all, by default), except on `spared`.
    func endSessions(
        app: String,
        user: String,
        device: String?,
        reason: GoAwayReason,
        olderThan generation: UInt64 = .max,
        sparing spared: ConnectionID? = nil
    ) -> Int {
        self.eventLoop.assertInEventLoop()
        guard let sessions = self.byUser[UserKey(app: app, user: user)] else { return 0 }
        // Collected first: ending a session edits the index.
        let device = device.map { ByteString($0) }
        let targets = sessions.compactMap { session -> SessionKey? in
            guard session.generation < generation, device == nil || device == session.device,
                session.key.connection != spared
            else { return nil }
            return session.key
        }
        var ended = 0
        for key in targets {
            if self.connections[key.connection]?.endSession(key.session, reason: reason) == true {
                ended += 1
            }
        }
        return ended
    }

    /// Ends the session `number` of `connection` with GOAWAY `reason` if this loop holds it
    /// with `generation` (connection numbers are per loop; the generation is the node's).
    func endSession(connection: UInt64, number: UInt16, generation: UInt64, reason: GoAwayReason) -> Bool {
        self.eventLoop.assertInEventLoop()
        let key = SessionKey(connection: ConnectionID(rawValue: connection), session: number)
        guard let handler = self.connections[key.connection], let session = handler.session(number),
            self.byUser[UserKey(app: session.app, user: session.user)]?
                .contains(where: { $0.key == key && $0.generation == generation }) == true
        else { return false }
        return handler.endSession(number, reason: reason)
    }

    /// Every session on this loop, open or opening.
    func allSessions(node: String) -> [SessionInfo] {
        self.eventLoop.assertInEventLoop()
        var all: [SessionInfo] = []
        for entries in self.byUser.values {
            for entry in entries {
                if let info = self.connections[entry.key.connection]?.session(entry.key.session)?
                    .info(node: node, connection: entry.key.connection, generation: entry.generation)
                {
                    all.append(info)
                }
            }
        }
        return all
    }

    /// Each app's sessions on this loop, and its users (counted once across loops by the
    /// caller).
    func onlineCountsByApp() -> [ByteString: (sessions: Int, users: Set<ByteString>)] {
        self.eventLoop.assertInEventLoop()
        var counts: [ByteString: (sessions: Int, users: Set<ByteString>)] = [:]
        for (key, entries) in self.byUser {
            counts[key.app, default: (0, [])].sessions += entries.count
            counts[key.app, default: (0, [])].users.insert(key.user)
        }
        return counts
    }

    /// Has the other loops end the older sessions of `replacement`'s device. Sent once per
    /// tick for all the sessions opened in it: one hop per loop, not one per AUTH.
    func replaceOnPeers(_ replacement: Replacement) {
        self.eventLoop.assertInEventLoop()
        guard !self.peers.isEmpty else { return }
        if self.outgoingReplacements.isEmpty {
            self.eventLoop.execute { self.sendReplacements() }
        }
        self.outgoingReplacements.append(replacement)
    }

    private func sendReplacements() {
        self.eventLoop.assertInEventLoop()
        let batch = self.outgoingReplacements
        self.outgoingReplacements.removeAll(keepingCapacity: true)
        for peer in self.peers {
            peer.eventLoop.execute {
                for replacement in batch {
                    _ = peer.endSessions(
                        app: replacement.app,
                        user: replacement.user,
                        device: replacement.device,
                        reason: .replaced,
                        olderThan: replacement.generation
                    )
                }
            }
        }
    }

    /// Sends GOAWAY `draining` to every connection and closes them; returns their close futures.
    func drain(retryAfterMs: Int) -> [EventLoopFuture<Void>] {
        self.eventLoop.assertInEventLoop()
        let connections = Array(self.connections.values)
        return connections.compactMap { $0.drain(retryAfterMs: retryAfterMs) }
    }

    /// Closes whatever connections are still open (the end of a drain that ran out of time).
    func closeAll() {
        self.eventLoop.assertInEventLoop()
        for connection in self.connections.values {
            connection.closeNow()
        }
    }

    /// Encodes a user message's PUSH (kind 0) once per distinct session number and writes the
    /// same buffer to each session. Broadcasts and topic messages go through the fan-out queue.
    private func writeUserMessage(
        to targets: [SessionKey],
        seq: UInt32,
        flags: FrameFlags = [],
        payload: ByteBuffer
    ) -> Int {
        var encoded: [UInt16: ByteBuffer] = [:]
        var written = 0
        for key in targets {
            guard let connection = self.connections[key.connection] else { continue }
            let frame: ByteBuffer
            if let cached = encoded[key.session] {
                frame = cached
            } else {
                var buffer = ByteBuffer()
                buffer.reserveCapacity(
                    Frame.headerSize + PushBody.fixedSize + payload.readableBytes
                )
                buffer.writePushFrame(
                    seq: seq,
                    flags: flags,
                    session: key.session,
                    kind: .user,
                    payload: payload
                )
                encoded[key.session] = buffer
                frame = buffer
            }
            if connection.writePush(frame, session: key.session, kind: .user, seq: seq) {
                written += 1
            }
        }
        return written
    }
}
