import Foundation
import HeraldCore
import HeraldTesting
import Logging
import NIOCore
import Synchronization
import Testing

@Suite struct AcknowledgementWriterTests {
    /// A store whose `acknowledge` fails while `failing` is set.
    final class FlakyStore: MessageStore {
        let base = InMemoryMessageStore()
        let failing: @Sendable () -> Bool

        init(failing: @escaping @Sendable () -> Bool) { self.failing = failing }

        func appendInbox(_ append: InboxAppend) async throws -> InboxAppendResult { try await self.base.appendInbox(append) }
        func inbox(app: String, user: String, device: String, after: UInt32, now: Date, page: InboxPage) async throws
            -> InboxReplay
        {
            try await self.base.inbox(app: app, user: user, device: device, after: after, now: now, page: page)
        }
        func acknowledge(_ acknowledgements: [InboxAcknowledgement]) async throws {
            if self.failing() { throw MessageStoreError.unavailable("down") }
            try await self.base.acknowledge(acknowledgements)
        }
        func lastInboxSequence(app: String, user: String) async throws -> UInt32 {
            try await self.base.lastInboxSequence(app: app, user: user)
        }
        func appendBroadcast(app: String, payload: ByteBuffer, ttl: Duration, keep: Int, now: Date) async throws -> UInt32 {
            try await self.base.appendBroadcast(app: app, payload: payload, ttl: ttl, keep: keep, now: now)
        }
        func broadcasts(app: String, after: UInt32, now: Date) async throws -> BroadcastReplay {
            try await self.base.broadcasts(app: app, after: after, now: now)
        }
        func lastBroadcastSequence(app: String) async throws -> UInt32 { try await self.base.lastBroadcastSequence(app: app) }
        func purge(now: Date, deadLetterLimit: Int, chunk: Int) async throws -> PurgeReport {
            try await self.base.purge(now: now, deadLetterLimit: deadLetterLimit, chunk: chunk)
        }
        func deadLetters(app: String, before: Int64?, limit: Int) async throws -> DeadLetterPage {
            try await self.base.deadLetters(app: app, before: before, limit: limit)
        }
    }

    @Test func cursorsOnlyRiseAndAreWrittenInOneBatch() async throws {
        let down = ManagedFlag()
        let store = FlakyStore(failing: { down.value })
        let now = Date()
        _ = try await store.appendInbox(
            InboxAppend(
                app: "demo",
                messages: [InboxMessage(users: ["alice", "bob"], payload: ByteBuffer(string: "x"), ttl: .seconds(60))]
                    + (0..<9).map { _ in InboxMessage(users: ["alice"], payload: ByteBuffer(), ttl: .seconds(60)) },
                inboxLimit: 100,
                now: now
            )
        )
        let writer = AcknowledgementWriter(store: store, logger: Logger(label: "test"))
        writer.record(InboxAcknowledgement(app: "demo", user: "alice", device: "phone", seq: 7))
        writer.record(InboxAcknowledgement(app: "demo", user: "alice", device: "phone", seq: 3))
        writer.record(InboxAcknowledgement(app: "demo", user: "bob", device: "phone", seq: 1))
        #expect(writer.pendingCursor(app: "demo", user: "alice", device: "phone") == 7)
        #expect(writer.pendingCount == 2)

        // While the store is down the cursors stay pending, and still count.
        down.value = true
        await #expect(throws: MessageStoreError.self) { try await writer.flush() }
        #expect(writer.pendingCount == 2)
        down.value = false
        try await writer.flush()
        #expect(writer.pendingCount == 0)
        #expect(writer.pendingCursor(app: "demo", user: "alice", device: "phone") == nil)
        let inbox = try await store.inbox(app: "demo", user: "alice", device: "phone", after: 0, now: now)
        #expect(inbox.cursor == 7)
        #expect(inbox.messages.map(\.seq) == [8, 9, 10])
    }
}

/// A flag shared with a `@Sendable` closure.
final class ManagedFlag: Sendable {
    private let state = Mutex(false)
    var value: Bool {
        get { self.state.withLock { $0 } }
        set { self.state.withLock { $0 = newValue } }
    }
}
