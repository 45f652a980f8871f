import HeraldCore
import HeraldWire
import Histogram
import Logging
import NIOConcurrencyHelpers
import NIOCore

/// One event loop's share of a ``BenchClientPool``: its connections, their counters and
/// latency histograms, the connect phase in progress, and the one repeated task that
/// flushes ACKs, sweeps heartbeats and publishes the stats.
///
/// `@unchecked Sendable`: the pool hands the loop to its event loop with `execute`/`submit`;
/// every mutable property except `published` is touched only on `eventLoop` (entry points
/// assert it), and `published` is guarded by its own lock. The per-message path takes no lock.
final class BenchLoop: @unchecked Sendable {
    /// Where a WebSocket connection upgrades.
    struct WebSocketEndpoint: Sendable, Hashable {
        var host: String
        var port: Int
        var path: String
    }

    /// What the loop needs to open connections, fixed for the pool's life.
    struct Setup: Sendable {
        /// The endpoints' addresses; a slot's `endpoint` indexes them.
        var addresses: [SocketAddress]
        var sourceAddresses: [SocketAddress]
        /// The endpoints' WebSocket paths, in the order of `addresses` (empty over TCP).
        var webSockets: [WebSocketEndpoint]
        var machine: BenchConnectionStateMachine.Configuration
        var retry: BenchRetryPolicy
        /// Attempts one loop keeps unsettled at once: more would only overflow the server's
        /// accept queue and wait out SYN retransmits.
        var maximumPending: Int
    }

    enum SlotStatus: Hashable, Sendable {
        case idle
        case connecting
        case open
        case failed
        case closed
    }

    struct Slot {
        /// The connection's index in the pool (its user is `firstUser + index`).
        var index: Int
        /// The endpoint it connects to, an index into the setup's `addresses`.
        var endpoint: Int
        var status: SlotStatus = .idle
        var generation: UInt32 = 0
        var attempts = 0
        /// The phase that is opening this slot.
        var phaseID = 0
        var connection: BenchConnection?
        var authFrame: ByteBuffer
    }

    /// A connect phase: the slots it opens, how many have settled, and its counts.
    final class Phase {
        let id: Int
        let retrying: Bool
        let eligible: [Int]
        let promise: EventLoopPromise<ConnectOutcome>
        var launched = 0
        /// The pacer's say: slots up to this many may be started.
        var target = 0
        /// Attempts started and not yet settled (the window).
        var pending = 0
        var pumpScheduled = false
        var settled = 0
        var outcome = ConnectOutcome()

        init(id: Int, retrying: Bool, eligible: [Int], promise: EventLoopPromise<ConnectOutcome>) {
            self.id = id
            self.retrying = retrying
            self.eligible = eligible
            self.promise = promise
            self.outcome.attempted = eligible.count
        }
    }

    /// What ``BenchClientPool/snapshot()`` reads, under the lock.
    struct Published: Sendable {
        var counters = BenchCounters()
        var latency: [Histogram<UInt64>] = PushKind.allCases.map { _ in LatencyHistogram.make() }
        var lastArrivalNanos: UInt64 = 0
        /// Bumped by ``BenchClientPool/resetLatencies()``; a loop drops what it recorded before.
        var epoch = 0
    }

    /// Ticks of the repeated task; ACKs are flushed every tick.
    static let tickInterval = TimeAmount.milliseconds(10)
    /// Stats are published every this many ticks.
    static let publishTicks = 2
    /// Every connection is swept (heartbeat, setup timeout) once per this many ticks.
    static let sweepTicks = 100
    /// Connections started per loop iteration, so that a burst does not starve reads.
    static let launchBatch = 256
    /// Arena bytes readied per connection: its slot, AUTH frame, ``BenchConnection`` and the
    /// odd partial frame, with room to spare.
    static let reservePerConnection = 4_096

    let eventLoop: BenchEventLoop
    let published = NIOLockedValueBox(Published())
    private let logger: Logger

    // Loop-confined state.
    private var setup: Setup?
    private var slots: [Slot] = []
    var counters = BenchCounters()
    /// Latency by kind since the last reset (cumulative).
    private var latency: [Histogram<UInt64>] = PushKind.allCases.map { _ in LatencyHistogram.make() }
    private var dirtyKinds: UInt8 = 0
    private var lastArrivalNanos: UInt64 = 0
    private var epoch = 0
    private var ackQueue: [BenchConnection] = []
    private var phase: Phase?
    private var lastPhaseID = 0
    private var tickTask: RepeatedTask?
    private var tickCount = 0
    private var sweepCursor = 0
    private var maskState: UInt64

    init(eventLoop: BenchEventLoop, logger: Logger) {
        self.eventLoop = eventLoop
        self.logger = logger
        self.maskState = UInt64.random(in: 1...UInt64.max)
    }

    /// Where the connection in `slot` upgrades to WebSocket (nil over TCP).
    func webSocketEndpoint(slot: Int) -> WebSocketEndpoint? {
        guard let webSockets = self.setup?.webSockets, slot < self.slots.count else { return nil }
        let endpoint = self.slots[slot].endpoint
        return endpoint < webSockets.count ? webSockets[endpoint] : nil
    }

    // MARK: Set-up and timer

    /// Makes the loop's slots, signing each connection's token now rather than while connecting.
    func prepare(setup: Setup, indexes: [Int], plan: ClientPlan, target: BenchTarget) {
        self.eventLoop.assertInEventLoop()
        guard self.setup == nil else { return }
        self.setup = setup
        // As on the server's loops: without it glibc grows this thread's arena one `mprotect`
        // per page, about one call for every connection opened.
        MallocArena.reserve(bytes: min(MallocArena.defaultReserve, indexes.count * Self.reservePerConnection))
        let expiry = Int64(BenchPayload.now() / 1_000_000_000) + 7 * 24 * 3600
        self.slots.reserveCapacity(indexes.count)
        for index in indexes {
            let claims = TokenClaims(app: target.app, sub: plan.user(at: index), exp: expiry)
            let token = TokenSigner.sign(claims, secret: target.secret)
            var frame = ByteBuffer()
            ClientMessage.auth(seq: BenchConnectionStateMachine.authSeq, AuthRequest(token: token)).write(into: &frame)
            self.slots.append(Slot(index: index, endpoint: plan.endpoint(at: index), authFrame: frame))
        }
        self.tickTask = self.eventLoop.scheduleRepeatedTask(
            initialDelay: Self.tickInterval,
            delay: Self.tickInterval
        ) { _ in
            self.tick()
        }
    }

    /// Stops the timer. The connections must be closed first.
    func stop() {
        self.eventLoop.assertInEventLoop()
        self.tickTask?.cancel()
        self.tickTask = nil
        self.publish()
    }

    private func tick() {
        self.tickCount &+= 1
        if !self.ackQueue.isEmpty {
            let queue = self.ackQueue
            self.ackQueue.removeAll(keepingCapacity: true)
            for connection in queue { connection.flushAck() }
        }
        if self.tickCount % Self.publishTicks == 0 {
            self.publish()
        }
        self.sweep()
    }

    /// Visits a slice of the connections so that each is visited once per `sweepTicks`.
    private func sweep() {
        guard !self.slots.isEmpty else { return }
        let perTick = (self.slots.count + Self.sweepTicks - 1) / Self.sweepTicks
        let now = BenchConnection.monotonicNow()
        for _ in 0..<perTick {
            if self.sweepCursor >= self.slots.count { self.sweepCursor = 0 }
            // Take the connection out first: a tick may close it, and the close calls back
            // into the loop, which updates `slots`.
            let connection = self.slots[self.sweepCursor].connection
            self.sweepCursor += 1
            connection?.tick(now: now)
        }
    }

    // MARK: Stats

    /// Counts a push's arrival and records its latency. The per-message path: no lock.
    @inline(__always)
    func recordArrival(kind: PushKind, sentAt: UInt64?, arrival: UInt64) {
        if arrival > self.lastArrivalNanos { self.lastArrivalNanos = arrival }
        guard let sentAt else { return }
        let micros = arrival > sentAt ? (arrival - sentAt) / 1_000 : 0
        let index = Int(kind.rawValue)
        LatencyHistogram.record(micros, in: &self.latency[index])
        self.dirtyKinds |= 1 << kind.rawValue
    }

    func queueAck(_ connection: BenchConnection) {
        self.ackQueue.append(connection)
    }

    /// Copies the counters, and the histograms that changed, to `published`.
    ///
    /// The loop's histograms are cumulative since the last reset; publishing shares their
    /// storage (copy on write), so the loop copies a histogram at most once per publish and
    /// never clears one bucket by bucket (`Histogram.reset()` is generic, unspecialized code).
    func publish() {
        self.eventLoop.assertInEventLoop()
        let dirty = self.dirtyKinds
        let counters = self.counters
        let lastArrival = self.lastArrivalNanos
        let localEpoch = self.epoch
        let latency = self.latency
        let currentEpoch = self.published.withLockedValue { published in
            published.counters = counters
            published.lastArrivalNanos = max(published.lastArrivalNanos, lastArrival)
            if published.epoch == localEpoch, dirty != 0 {
                for index in latency.indices where dirty & (1 << index) != 0 {
                    published.latency[index] = latency[index]
                }
            }
            return published.epoch
        }
        self.dirtyKinds = 0
        if currentEpoch != localEpoch {
            // A reset that this loop has not applied yet: what it holds dates from before it.
            self.applyReset(epoch: currentEpoch)
        }
    }

    /// Clears the latency histograms (called on any thread).
    func resetLatencies() {
        let empty = PushKind.allCases.map { _ in LatencyHistogram.make() }
        let epoch = self.published.withLockedValue { published in
            published.epoch += 1
            published.latency = empty
            return published.epoch
        }
        self.eventLoop.execute {
            guard self.epoch < epoch else { return }
            self.applyReset(epoch: epoch)
        }
    }

    private func applyReset(epoch: Int) {
        self.epoch = epoch
        self.latency = PushKind.allCases.map { _ in LatencyHistogram.make() }
        self.dirtyKinds = 0
    }

    /// The next WebSocket masking key (xorshift: cheap, and masking is not about secrecy here).
    func nextMaskKey() -> UInt32 {
        self.maskState ^= self.maskState << 13
        self.maskState ^= self.maskState >> 7
        self.maskState ^= self.maskState << 17
        return UInt32(truncatingIfNeeded: self.maskState)
    }

    // MARK: Connect phases

    /// Starts a phase over every slot that is not open or connecting; returns how many that is.
    /// `promise` completes when all of them are open or given up on.
    func beginPhase(retrying: Bool, promise: EventLoopPromise<ConnectOutcome>) -> Int {
        self.eventLoop.assertInEventLoop()
        self.finishPhase()
        let eligible = self.slots.indices.filter { index in
            switch self.slots[index].status {
            case .idle, .failed, .closed: true
            case .connecting, .open: false
            }
        }
        self.lastPhaseID += 1
        let phase = Phase(id: self.lastPhaseID, retrying: retrying, eligible: eligible, promise: promise)
        self.phase = phase
        for index in eligible {
            self.slots[index].attempts = 0
            self.slots[index].phaseID = phase.id
        }
        if eligible.isEmpty { self.finishPhase() }
        return eligible.count
    }

    /// Lets the phase start its connections up to the `target`-th (pacing is the pool's),
    /// keeping at most `maximumPending` attempts unsettled.
    func launch(upTo target: Int) {
        self.eventLoop.assertInEventLoop()
        guard let phase = self.phase else { return }
        phase.target = max(phase.target, min(target, phase.eligible.count))
        self.pump()
    }

    private func pump() {
        guard let phase = self.phase, let setup = self.setup else { return }
        phase.pumpScheduled = false
        var started = 0
        while phase.launched < phase.target, phase.pending < setup.maximumPending {
            guard started < Self.launchBatch else {
                // Let the loop read between batches.
                self.schedulePump(phase)
                return
            }
            let slot = phase.eligible[phase.launched]
            phase.launched += 1
            started += 1
            self.startAttempt(slot)
        }
    }

    private func schedulePump(_ phase: Phase) {
        guard !phase.pumpScheduled else { return }
        phase.pumpScheduled = true
        self.eventLoop.execute { self.pump() }
    }

    private func startAttempt(_ slot: Int) {
        guard let setup = self.setup else { return }
        self.slots[slot].generation &+= 1
        self.slots[slot].status = .connecting
        self.slots[slot].attempts += 1
        self.slots[slot].connection = nil
        self.counters.attempted += 1
        if let phase = self.phase, phase.id == self.slots[slot].phaseID { phase.pending += 1 }
        let generation = self.slots[slot].generation
        var machine = BenchConnectionStateMachine(configuration: setup.machine)
        machine.start(now: BenchConnection.monotonicNow())
        let source =
            setup.sourceAddresses.isEmpty
            ? nil : setup.sourceAddresses[self.slots[slot].index % setup.sourceAddresses.count]

        #if os(Linux)
            let descriptor: CInt
            do {
                descriptor = try ConnectingSocket.open(to: setup.addresses[self.slots[slot].endpoint], from: source)
            } catch {
                self.attemptFailed(slot: slot, generation: generation, error: error)
                return
            }
            let connection = BenchConnection(
                loop: self,
                descriptor: descriptor,
                slot: slot,
                generation: generation,
                authFrame: self.slots[slot].authFrame,
                machine: machine
            )
            self.slots[slot].connection = connection
            do {
                try connection.start()
            } catch {
                self.logger.trace("bench connection not watched", metadata: ["bench.error": "\(error)"])
                // Settles the attempt as a failed connect.
                connection.close()
            }
        #else
            _ = (machine, source)
            // Not reached: BenchClientPool refuses to start where there is no epoll.
            self.attemptFailed(
                slot: slot, generation: generation, error: BenchPoolError("the bench clients run on Linux only"))
        #endif
    }

    /// The socket could not be made or its connect not started.
    private func attemptFailed(slot: Int, generation: UInt32, error: any Error) {
        self.eventLoop.assertInEventLoop()
        guard self.slots[slot].generation == generation, self.slots[slot].status == .connecting else { return }
        self.logger.trace("bench connect failed", metadata: ["bench.error": "\(error)"])
        self.counters.connectFailures += 1
        self.settle(slot: slot, generation: generation, .connectFailed)
    }

    /// An attempt ended up ready or failed: count it for the phase, and retry if the phase does.
    func settle(slot: Int, generation: UInt32, _ settlement: BenchConnectionStateMachine.Settlement) {
        self.eventLoop.assertInEventLoop()
        guard self.slots[slot].generation == generation, self.slots[slot].status == .connecting else { return }
        let phase = self.phase.flatMap { $0.id == self.slots[slot].phaseID ? $0 : nil }
        if let phase {
            phase.pending -= 1
            // The window has room again.
            if phase.launched < phase.target { self.schedulePump(phase) }
        }
        if settlement == .ready {
            self.slots[slot].status = .open
            phase?.outcome.authenticated += 1
            phase?.settled += 1
            self.finishPhaseIfDone()
            return
        }
        if settlement == .refusedBusy { phase?.outcome.refusedBusy += 1 }
        if let phase, phase.retrying, settlement.isRetryable,
            let setup = self.setup, self.slots[slot].attempts < setup.retry.maximumAttempts
        {
            self.counters.retries += 1
            phase.outcome.retries += 1
            let delay = setup.retry.delay(afterAttempt: self.slots[slot].attempts)
            self.eventLoop.scheduleTask(in: delay) {
                self.retry(slot: slot, generation: generation)
            }
            return
        }
        self.slots[slot].status = .failed
        phase?.outcome.failed += 1
        phase?.settled += 1
        self.finishPhaseIfDone()
    }

    private func retry(slot: Int, generation: UInt32) {
        guard self.slots[slot].generation == generation, self.slots[slot].status == .connecting else { return }
        guard let phase = self.phase, phase.id == self.slots[slot].phaseID else {
            // The phase ended while this connection waited: give up on it.
            self.slots[slot].status = .failed
            return
        }
        self.startAttempt(slot)
    }

    /// A connection's channel closed.
    func connectionClosed(slot: Int, generation: UInt32, settlement: BenchConnectionStateMachine.Settlement?) {
        self.eventLoop.assertInEventLoop()
        if let settlement {
            self.settle(slot: slot, generation: generation, settlement)
        }
        guard self.slots[slot].generation == generation else { return }
        if self.slots[slot].status == .open {
            self.slots[slot].status = .closed
        }
        self.slots[slot].connection = nil
    }

    private func finishPhaseIfDone() {
        guard let phase = self.phase, phase.settled >= phase.eligible.count else { return }
        self.finishPhase()
    }

    /// Completes the phase in progress with what it has so far.
    private func finishPhase() {
        guard let phase = self.phase else { return }
        self.phase = nil
        phase.promise.succeed(phase.outcome)
    }

    // MARK: Closing

    /// Closes every connection from this side and ends the phase in progress.
    func dropAll() {
        self.eventLoop.assertInEventLoop()
        self.finishPhase()
        for index in self.slots.indices {
            // A new generation: settlements and retries of the old attempt are ignored.
            self.slots[index].generation &+= 1
            let connection = self.slots[index].connection
            self.slots[index].connection = nil
            connection?.closeByUs()
            if self.slots[index].status != .idle {
                self.slots[index].status = .closed
            }
        }
        self.publish()
    }

    /// Publishes now and returns the loop's share of a snapshot (on the loop).
    func publishNow() {
        self.eventLoop.assertInEventLoop()
        self.publish()
    }
}
