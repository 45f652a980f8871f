import HeraldWire
import Logging

/// A cluster node's ``SessionObserver``: queues every session that opens or closes, in
/// order and without waiting, and writes them to the shared ``SessionDirectory`` from
/// ``run(gateway:)``.
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

    private let node: String
    private let directory: any SessionDirectory
    private let bus: any MessageBus
    private let logger: Logger
    private let changes: AsyncStream<Change>
    private let continuation: AsyncStream<Change>.Continuation

    /// Creates the observer of node `node`; nothing is written until ``run(gateway:)``.
    public init(node: String, directory: any SessionDirectory, bus: any MessageBus, logger: Logger) {
        self.node = node
        self.directory = directory
        self.bus = bus
        self.logger = logger
        (self.changes, self.continuation) = AsyncStream.makeStream(of: Change.self)
    }

    /// Queues the registration; returns at once (called on the event loop).
    public func sessionOpened(_ session: SessionInfo) {
        self.continuation.yield(.opened(session))
    }

    /// Queues the removal; returns at once (called on the event loop).
    public func sessionClosed(_ session: SessionInfo) {
        self.continuation.yield(.closed(session))
    }

    /// Writes the queued changes to the directory, one after another so that a session's
    /// close never overtakes its open, until the task is cancelled. Run it once.
    public func run(gateway: some ClusterGateway) async {
        for await change in self.changes {
            switch change {
            case .opened(let session):
                await self.register(session, gateway: gateway)
            case .closed(let session):
                do {
                    try await self.directory.unregister(session)
                } catch {
                    // The node restores its sessions when it can renew its lease again.
                    self.logger.debug(
                        "The session directory did not take a closed session.",
                        metadata: ["session": "\(session.id)", "error": "\(error)"]
                    )
                }
            }
        }
    }

    private func register(_ session: SessionInfo, gateway: some ClusterGateway) async {
        do {
            let registration = try await self.directory.register(session)
            guard let displaced = registration.displaced else { return }
            if ByteString.same(displaced.node, self.node) {
                _ = await gateway.endSession(displaced.id, reason: .replaced)
            } else {
                try await self.bus.publish(
                    BusMessage(origin: self.node, body: .replace(displaced: displaced)),
                    to: .node(displaced.node)
                )
            }
        } catch {
            self.logger.debug(
                "The session directory did not take an opened session.",
                metadata: ["session": "\(session.id)", "error": "\(error)"]
            )
        }
    }
}
