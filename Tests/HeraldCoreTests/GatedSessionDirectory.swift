import HeraldCore
import HeraldTesting
import NIOConcurrencyHelpers

/// An in-memory directory that records each write and holds the first one until ``open()``,
/// so that a test can queue changes behind it.
final class GatedSessionDirectory: SessionDirectory {
    enum Write: Equatable {
        case register([SessionInfo])
        case unregister([SessionInfo])

        var count: Int { self.registered.count + self.unregistered.count }

        var registered: [SessionInfo] {
            guard case .register(let sessions) = self else { return [] }
            return sessions
        }

        var unregistered: [SessionInfo] {
            guard case .unregister(let sessions) = self else { return [] }
            return sessions
        }
    }

    /// The directory behind the gate, for a test to write to directly.
    let directory = InMemorySessionDirectory()
    /// Yields once the first write waits at the gate.
    let waiting: AsyncStream<Void>
    private let waitingContinuation: AsyncStream<Void>.Continuation
    private let gate: AsyncStream<Void>
    private let gateContinuation: AsyncStream<Void>.Continuation
    private let log = NIOLockedValueBox<[Write]>([])

    init() {
        (self.waiting, self.waitingContinuation) = AsyncStream.makeStream(of: Void.self)
        (self.gate, self.gateContinuation) = AsyncStream.makeStream(of: Void.self)
    }

    /// The writes so far, in order.
    var writes: [Write] {
        self.log.withLockedValue { $0 }
    }

    /// Lets the first write through, and every one after it.
    func open() {
        self.gateContinuation.finish()
    }

    private func pass(_ write: Write) async {
        let first = self.log.withLockedValue { log in
            log.append(write)
            return log.count == 1
        }
        guard first else { return }
        self.waitingContinuation.yield()
        for await _ in self.gate {}
    }

    func register(_ sessions: [SessionInfo]) async throws -> [Result<SessionRegistration, any Error>] {
        await self.pass(.register(sessions))
        return try await self.directory.register(sessions)
    }

    func unregister(_ sessions: [SessionInfo]) async throws {
        await self.pass(.unregister(sessions))
        try await self.directory.unregister(sessions)
    }

    func sessions(app: String, users: [String], liveNodes: Set<ByteString>) async throws -> [[SessionInfo]] {
        try await self.directory.sessions(app: app, users: users, liveNodes: liveNodes)
    }

    func restore(node: String, sessions: [SessionInfo]) async throws {
        try await self.directory.restore(node: node, sessions: sessions)
    }

    func removeSessions(ofNode node: String) async throws -> Int {
        try await self.directory.removeSessions(ofNode: node)
    }
}
