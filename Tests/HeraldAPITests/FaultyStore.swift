import HeraldCore
import HeraldTesting
import NIOConcurrencyHelpers
import NIOCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// A ``MessageStore`` over an ``InMemoryMessageStore`` that fails every call with `fault`
/// while one is set, and logs each `appendInbox` it completes.
final class FaultyStore: MessageStore {
    let inner = InMemoryMessageStore()
    let events: EventLog
    private let currentFault: NIOLockedValueBox<MessageStoreError?>
    private let appends = NIOLockedValueBox<[InboxAppend]>([])

    init(fault: MessageStoreError? = nil, events: EventLog = EventLog()) {
        self.currentFault = NIOLockedValueBox(fault)
        self.events = events
    }

    var fault: MessageStoreError? {
        get { self.currentFault.withLockedValue { $0 } }
        set { self.currentFault.withLockedValue { $0 = newValue } }
    }

    /// Every `appendInbox` call that reached the store, failed or not.
    var inboxAppends: [InboxAppend] { self.appends.withLockedValue { $0 } }

    private func check() throws {
        if let fault = self.fault { throw fault }
    }

    func appendInbox(_ append: InboxAppend) async throws -> InboxAppendResult {
        self.appends.withLockedValue { $0.append(append) }
        try self.check()
        let result = try await self.inner.appendInbox(append)
        let sequences = result.messages.map { $0.map { "\($0.user):\($0.seq)" }.joined(separator: ",") }
        self.events.append("stored \(sequences.joined(separator: " "))")
        return result
    }

    func inbox(app: String, user: String, device: String, after: UInt32, now: Date, page: InboxPage) async throws
        -> InboxReplay
    {
        try self.check()
        return try await self.inner.inbox(app: app, user: user, device: device, after: after, now: now, page: page)
    }

    func acknowledge(_ acknowledgements: [InboxAcknowledgement]) async throws {
        try self.check()
        try await self.inner.acknowledge(acknowledgements)
    }

    func lastInboxSequence(app: String, user: String) async throws -> UInt32 {
        try self.check()
        return try await self.inner.lastInboxSequence(app: app, user: user)
    }

    func appendBroadcast(app: String, payload: ByteBuffer, ttl: Duration, keep: Int, now: Date) async throws -> UInt32 {
        try self.check()
        return try await self.inner.appendBroadcast(app: app, payload: payload, ttl: ttl, keep: keep, now: now)
    }

    func broadcasts(app: String, after: UInt32, now: Date) async throws -> BroadcastReplay {
        try self.check()
        return try await self.inner.broadcasts(app: app, after: after, now: now)
    }

    func lastBroadcastSequence(app: String) async throws -> UInt32 {
        try self.check()
        return try await self.inner.lastBroadcastSequence(app: app)
    }

    func purge(now: Date, deadLetterLimit: Int, chunk: Int) async throws -> PurgeReport {
        try self.check()
        return try await self.inner.purge(now: now, deadLetterLimit: deadLetterLimit, chunk: chunk)
    }

    func deadLetters(app: String, before: Int64?, limit: Int) async throws -> DeadLetterPage {
        try self.check()
        return try await self.inner.deadLetters(app: app, before: before, limit: limit)
    }
}
