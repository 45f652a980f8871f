import Foundation
import HeraldCore
import HeraldTestUtils
import HeraldTesting
import Logging
import Testing

/// How a cluster node writes its sessions to the directory: what is queued, a bounded batch
/// at a time, each session's close after its open, and the replace rule for every registration.
@Suite struct ClusterObserverTests {
    static func session(_ connection: UInt64, user: String? = nil, device: String = "phone", node: String = "n1")
        -> SessionInfo
    {
        SessionInfo(
            app: "demo", user: user ?? "user-\(connection)", device: device,
            id: SessionID(node: node, connection: connection, number: 1, generation: connection),
            since: Date(timeIntervalSince1970: 1_780_000_000))
    }

    static func observer(directory: GatedSessionDirectory, bus: any MessageBus) -> ClusterObserver {
        ClusterObserver(node: "n1", directory: directory, bus: bus, logger: Logger(label: "cluster-observer-test"))
    }

    @Test func aBurstIsWrittenInBoundedBatchesWithEachCloseAfterItsOpen() async throws {
        let directory = GatedSessionDirectory()
        let observer = Self.observer(directory: directory, bus: InMemoryMessageBus())
        let running = Task { await observer.run(gateway: RecordingClusterGateway(nodeID: "n1")) }
        // The first open is written alone and held there; the burst queues behind it.
        observer.sessionOpened(Self.session(0))
        var waiting = directory.waiting.makeAsyncIterator()
        _ = await waiting.next()
        let burst = (1...300).map { Self.session(UInt64($0)) }
        let closed = burst.filter { $0.id.connection % 3 == 0 }
        for session in burst {
            observer.sessionOpened(session)
            if session.id.connection % 3 == 0 { observer.sessionClosed(session) }
        }
        directory.open()
        #expect(await eventually { directory.writes.reduce(0) { $0 + $1.count } == 1 + burst.count + closed.count })
        running.cancel()
        await running.value

        // 400 changes queued: a batch of 256 and one of 144, each its opens, then its closes.
        let writes = directory.writes
        #expect(writes.count == 5)
        #expect(writes.first == .register([Self.session(0)]))
        #expect(writes.allSatisfy { $0.count <= ClusterObserver.batchLimit })
        for session in closed {
            let opened = try #require(writes.firstIndex { $0.registered.contains(session) })
            let removed = try #require(writes.firstIndex { $0.unregistered.contains(session) })
            #expect(opened < removed)
        }
        let listed = try await directory.sessions(
            app: "demo", users: ["user-0"] + burst.map(\.user), liveNodes: ["n1"])
        #expect(listed.map(\.count) == [1] + burst.map { $0.id.connection % 3 == 0 ? 0 : 1 })
    }

    @Test func everyRegistrationOfABatchEndsTheSessionItDisplaced() async throws {
        let directory = GatedSessionDirectory()
        let bus = InMemoryMessageBus()
        var onOtherNode = bus.subscribe(node: "n2").makeAsyncIterator()
        let remote = Self.session(1, user: "alice", node: "n2")
        _ = try await directory.directory.register(remote)
        let gateway = RecordingClusterGateway(nodeID: "n1")
        let observer = Self.observer(directory: directory, bus: bus)
        let running = Task { await observer.run(gateway: gateway) }
        let held = Self.session(10, user: "bob")
        observer.sessionOpened(held)
        var waiting = directory.waiting.makeAsyncIterator()
        _ = await waiting.next()
        // Two AUTHs of one device and another device of the same user, in one batch.
        let first = Self.session(2, user: "alice")
        let second = Self.session(3, user: "alice")
        let laptop = Self.session(4, user: "alice", device: "laptop")
        for session in [first, second, laptop] { observer.sessionOpened(session) }
        directory.open()

        // The session on the other node is told to go; the first on this node is ended here.
        guard case .message(let message)? = await onOtherNode.next(), case .replace(let displaced) = message.body else {
            Issue.record("the other node was not told that its session was replaced")
            return
        }
        #expect(displaced == remote)
        #expect(await eventually { gateway.endedSessions == [first.id] })
        running.cancel()
        await running.value
        #expect(directory.writes == [.register([held]), .register([first, second, laptop])])
        #expect(try await directory.sessions(app: "demo", users: ["alice"], liveNodes: ["n1", "n2"]) == [[second, laptop]])
    }
}
