import HeraldWire
import Logging
import NIOConcurrencyHelpers

/// A cluster node's ``SessionObserver``: queues every session that opens or closes, in
/// order and without waiting, and writes them to the shared ``SessionDirectory`` from
/// ``run(gateway:)``, as many as are queued at a time (up to ``batchLimit``), so that a
/// burst of AUTHs costs a round trip per batch rather than per session.
///
/// The directory decides the replace rule across nodes: when a registration displaces a
/// session on another node, that node is told on the bus (``BusMessage/Body/replace(displaced:)``);
/// a displaced session on this node was ended by the gateway's own rule, or is ended here if
/// it is still open.
public final class ClusterObserver: SessionObserver {
    private enum Change: Sendable {
        case opened(SessionInfo)
        case closed(SessionInfo)
    }

    /// The most changes written at once.
    public static let batchLimit = 256

    private let node: String
    private let directory: any SessionDirectory
    private let bus: any MessageBus
    private let logger: Logger
    private let queue = NIOLockedValueBox<[Change]>([])
    /// Wakes ``run(gateway:)`` when the queue was empty; one pending wake-up is enough.
    private let wakeUps: AsyncStream<Void>
    private let wakeUp: AsyncStream<Void>.Continuation

    /// Creates the observer of node `node`; nothing is written until ``run(gateway:)``.
    public init(node: String, directory: any SessionDirectory, bus: any MessageBus, logger: Logger) {
        self.node = node
        self.directory = directory
        self.bus = bus
        self.logger = logger
        (self.wakeUps, self.wakeUp) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// Queues the registration; returns at once (called on the event loop).
    public func sessionOpened(_ session: SessionInfo) {
        self.enqueue(.opened(session))
    }

    /// Queues the removal; returns at once (called on the event loop).
    public func sessionClosed(_ session: SessionInfo) {
        self.enqueue(.closed(session))
    }

    private func enqueue(_ change: Change) {
        let wasEmpty = self.queue.withLockedValue { queue in
            queue.append(change)
            return queue.count == 1
        }
        if wasEmpty { self.wakeUp.yield() }
    }

    /// Writes the queued changes to the directory until the task is cancelled, a batch at a
    /// time: the batch's opens, then its closes, so that a session's close never overtakes its
    /// open. Run it once.
    public func run(gateway: some ClusterGateway) async {
        for await _ in self.wakeUps {
            while let batch = self.nextBatch() {
                await self.write(batch, gateway: gateway)
            }
        }
    }

    /// Takes up to ``batchLimit`` changes off the queue, split into opens and closes, each in
    /// queue order; nil once the queue is empty.
    private func nextBatch() -> (opened: [SessionInfo], closed: [SessionInfo])? {
        let changes = self.queue.withLockedValue { queue -> ArraySlice<Change> in
            let taken = queue.prefix(Self.batchLimit)
            queue.removeFirst(taken.count)
            return taken
        }
        guard !changes.isEmpty else { return nil }
        var opened: [SessionInfo] = []
        var closed: [SessionInfo] = []
        for change in changes {
            switch change {
            case .opened(let session): opened.append(session)
            case .closed(let session): closed.append(session)
            }
        }
        return (opened, closed)
    }

    // Registering the batch's opens before its closes changes nothing a session-at-a-time
    // writer would leave: a close only ever concerns its own session, which opened once and
    // before it, and removes it only while it holds its device.
    private func write(_ batch: (opened: [SessionInfo], closed: [SessionInfo]), gateway: some ClusterGateway) async {
        if !batch.opened.isEmpty {
            do {
                let results = try await self.directory.register(batch.opened)
                await self.endDisplaced(zip(batch.opened, results), gateway: gateway)
            } catch {
                // The node restores its sessions when it can renew its lease again.
                self.logger.debug(
                    "The session directory did not take the opened sessions.",
                    metadata: ["sessions": "\(batch.opened.count)", "error": "\(error)"]
                )
            }
        }
        if !batch.closed.isEmpty {
            do {
                try await self.directory.unregister(batch.closed)
            } catch {
                self.logger.debug(
                    "The session directory did not take the closed sessions.",
                    metadata: ["sessions": "\(batch.closed.count)", "error": "\(error)"]
                )
            }
        }
    }

    /// Ends each displaced session: here if it is on this node, else by telling its node.
    private func endDisplaced(
        _ registrations: Zip2Sequence<[SessionInfo], [Result<SessionRegistration, any Error>]>,
        gateway: some ClusterGateway
    ) async {
        await withDiscardingTaskGroup { group in
            for (session, result) in registrations {
                let displaced: SessionInfo
                switch result {
                case .success(let registration):
                    guard let previous = registration.displaced else { continue }
                    displaced = previous
                case .failure(let error):
                    self.logger.debug(
                        "The session directory did not take an opened session.",
                        metadata: ["session": "\(session.id)", "error": "\(error)"]
                    )
                    continue
                }
                if ByteString.same(displaced.node, self.node) {
                    group.addTask { _ = await gateway.endSession(displaced.id, reason: .replaced) }
                } else {
                    group.addTask { await self.tellReplaced(displaced) }
                }
            }
        }
    }

    private func tellReplaced(_ displaced: SessionInfo) async {
        do {
            try await self.bus.publish(
                BusMessage(origin: self.node, body: .replace(displaced: displaced)),
                to: .node(displaced.node)
            )
        } catch {
            self.logger.debug(
                "The node holding a displaced session could not be told.",
                metadata: ["session": "\(displaced.id)", "error": "\(error)"]
            )
        }
    }
}
