import Foundation
import HeraldCore
import HeraldTesting
import HeraldWire
import Logging
import NIOCore
import Testing

/// The recovery contract computed from the store (docs/protocol.md, "Delivery").
@Suite struct StoreReplayTests {
    static let now = Date(timeIntervalSince1970: 1_700_000_000)
    static let app = App(id: "demo", secret: "s", epoch: "epoch-1", createdAt: Date(timeIntervalSince1970: 0))

    static func token(device: String = "phone") -> VerifiedToken {
        VerifiedToken(app: Self.app, claims: TokenClaims(app: "demo", sub: "alice", dev: device, exp: 4_102_444_800))
    }

    static func store(messages: Int, ttl: Duration = .seconds(3600), inboxLimit: Int = 1000) async throws
        -> InMemoryMessageStore
    {
        let store = InMemoryMessageStore()
        for index in 1...messages {
            _ = try await store.appendInbox(
                InboxAppend(
                    app: "demo",
                    messages: [InboxMessage(users: ["alice"], payload: ByteBuffer(string: "m\(index)"), ttl: ttl)],
                    inboxLimit: inboxLimit,
                    now: Self.now
                )
            )
        }
        return store
    }

    @Test func replaysAboveTheLargerOfCursorAndResume() async throws {
        let store = try await Self.store(messages: 6)
        try await store.acknowledge([InboxAcknowledgement(app: "demo", user: "alice", device: "phone", seq: 2)])
        let replay = StoreReplay(store: store, acknowledgements: nil)

        var plan = try await replay.plan(for: Self.token(), resume: nil, now: Self.now)
        #expect(plan.pushes.map(\.seq) == [3, 4, 5, 6])
        #expect(plan.pushes.allSatisfy { $0.kind == .user && $0.ackRequired })
        #expect(plan.recovered == AuthOK.Recovered(inbox: true, broadcast: true))
        #expect(plan.epoch == "epoch-1")

        plan = try await replay.plan(for: Self.token(), resume: .init(epoch: "epoch-1", inbox: 4), now: Self.now)
        #expect(plan.pushes.map(\.seq) == [5, 6])

        // A cursor not yet written counts as well.
        let writer = AcknowledgementWriter(store: store, logger: Logger(label: "test"))
        writer.record(InboxAcknowledgement(app: "demo", user: "alice", device: "phone", seq: 5))
        plan = try await StoreReplay(store: store, acknowledgements: writer).plan(for: Self.token(), resume: nil, now: Self.now)
        #expect(plan.pushes.map(\.seq) == [6])
    }

    @Test func aForeignEpochIgnoresResumeButKeepsTheCursor() async throws {
        let store = try await Self.store(messages: 3)
        try await store.acknowledge([InboxAcknowledgement(app: "demo", user: "alice", device: "phone", seq: 1)])
        let plan = try await StoreReplay(store: store, acknowledgements: nil).plan(
            for: Self.token(),
            resume: .init(epoch: "epoch-0", inbox: 3, broadcast: 1),
            now: Self.now
        )
        #expect(plan.pushes.map(\.seq) == [2, 3])
        #expect(plan.recovered == AuthOK.Recovered(inbox: false, broadcast: false))
    }

    @Test func expiryAndTheBoundMakeInboxRecoveryFalseOnlyWhereTheyCost() async throws {
        // The bound dropped 1 and 2.
        let bounded = try await Self.store(messages: 4, inboxLimit: 2)
        let replay = StoreReplay(store: bounded, acknowledgements: nil)
        var plan = try await replay.plan(for: Self.token(), resume: nil, now: Self.now)
        #expect(plan.pushes.map(\.seq) == [3, 4])
        #expect(!plan.recovered.inbox)
        // A device that had acknowledged 2 lost nothing.
        plan = try await replay.plan(for: Self.token(), resume: .init(epoch: "epoch-1", inbox: 2), now: Self.now)
        #expect(plan.recovered.inbox)

        // Expired, not yet purged: already lost at `now`.
        let expiring = try await Self.store(messages: 2, ttl: .seconds(10))
        plan = try await StoreReplay(store: expiring, acknowledgements: nil).plan(
            for: Self.token(),
            resume: nil,
            now: Self.now.addingTimeInterval(11)
        )
        #expect(plan.pushes.isEmpty)
        #expect(!plan.recovered.inbox)
    }

    @Test func broadcastsAreReplayedOnlyWhenResumed() async throws {
        let store = InMemoryMessageStore()
        for index in 1...5 {
            _ = try await store.appendBroadcast(
                app: "demo",
                payload: ByteBuffer(string: "b\(index)"),
                ttl: .seconds(60),
                keep: 3,
                now: Self.now
            )
        }
        let replay = StoreReplay(store: store, acknowledgements: nil)
        var plan = try await replay.plan(for: Self.token(), resume: nil, now: Self.now)
        #expect(plan.pushes.isEmpty)
        #expect(plan.recovered.broadcast)

        plan = try await replay.plan(for: Self.token(), resume: .init(epoch: "epoch-1", broadcast: 3), now: Self.now)
        #expect(plan.pushes.map(\.seq) == [4, 5])
        #expect(plan.pushes.allSatisfy { $0.kind == .broadcast && !$0.ackRequired })
        #expect(plan.recovered.broadcast)

        // 2 was trimmed by the count bound (3 kept: 3, 4, 5).
        plan = try await replay.plan(for: Self.token(), resume: .init(epoch: "epoch-1", broadcast: 1), now: Self.now)
        #expect(plan.pushes.map(\.seq) == [3, 4, 5])
        #expect(!plan.recovered.broadcast)
    }
}
