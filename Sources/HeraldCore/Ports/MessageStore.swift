import NIOCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The port that keeps what must survive (360's Saver): QoS 1 inboxes with their
/// per-device acknowledgement cursors, the broadcast log, dead letters and idempotency
/// records. SQLite by default, PostgreSQL in a cluster.
///
/// Every implementation passes the one contract suite (`HeraldStoreContractTests`), which
/// pins down the rules below.
///
/// - Sequences: per (app, user) for inboxes and per app for broadcasts, they start at 1
///   and only grow, across restarts and across several processes writing at once; a
///   purged or collapsed message never frees its sequence.
/// - "Lost" watermarks: when a message leaves an inbox by expiry or by the inbox bound,
///   the inbox's `lostThrough` rises to its sequence (collapsed messages are replaced, not
///   lost). When a broadcast leaves the log (TTL or count bound) the log's
///   `trimmedThrough` rises likewise. Expired rows that the sweeper has not purged yet
///   already count as lost: the answer is true at `now`, not at the last purge.
/// - Every call that returns has made its writes durable (committed and synced).
/// - Failures of the database throw ``MessageStoreError/unavailable(_:)``.
public protocol MessageStore: Sendable {
    /// Stores QoS 1 messages for their users, atomically for the whole call, and returns
    /// the sequences given, per message and per user in the order of `users`.
    ///
    /// With an idempotency key: when a record for (app, key) younger than
    /// ``InboxAppend/idempotencyWindow`` exists, a matching fingerprint returns the
    /// recorded result with ``InboxAppendResult/replayed`` set and stores nothing; a
    /// different fingerprint throws ``MessageStoreError/idempotencyConflict``.
    ///
    /// A message with a collapse key first removes the user's kept messages with the same
    /// key. Past `inboxLimit` kept messages, the oldest leave the inbox: as dead letters
    /// with reason ``DeadLetterReason/inboxFull`` when no device of the user had
    /// acknowledged them and the message's policy keeps dead letters, else silently.
    func appendInbox(_ append: InboxAppend) async throws -> InboxAppendResult

    /// What a device should be replayed on AUTH: the unexpired messages of the user's inbox
    /// with a sequence above `max(device's cursor, after)`, in order, as much as `page`
    /// allows (``InboxReplay/isComplete`` says whether more may follow), with the cursor and
    /// watermarks needed to say whether anything was lost.
    func inbox(app: String, user: String, device: String, after: UInt32, now: Date, page: InboxPage) async throws
        -> InboxReplay

    /// Whether the user may have anything in their inbox: `false` only when the store knows
    /// there is nothing, so that a session can open without reading it. Cheap, synchronous,
    /// and safe from any thread (it runs on the event loop of the opening connection).
    func mayHaveInbox(app: String, user: String) -> Bool

    /// Advances devices' acknowledgement cursors: each to `max(current, min(seq, the
    /// user's last sequence))`, so a cursor never moves back nor past what was sent.
    /// Called in batches by the write-behind buffer.
    func acknowledge(_ acknowledgements: [InboxAcknowledgement]) async throws

    /// The user's newest inbox sequence, 0 if none was ever given.
    func lastInboxSequence(app: String, user: String) async throws -> UInt32

    /// Records a broadcast in the app's log and returns its sequence. The log keeps at
    /// most `keep` broadcasts (the oldest leave first) and each for `ttl`.
    func appendBroadcast(app: String, payload: ByteBuffer, ttl: Duration, keep: Int, now: Date) async throws -> UInt32

    /// The kept, unexpired broadcasts of the app above `after`, in order.
    func broadcasts(app: String, after: UInt32, now: Date) async throws -> BroadcastReplay

    /// The sequence of the app's newest broadcast, 0 if it has none.
    func lastBroadcastSequence(app: String) async throws -> UInt32

    /// The sweeper's pass: removes expired inbox messages (as dead letters with reason
    /// ``DeadLetterReason/expired`` when no device of the user had acknowledged them and
    /// their policy keeps dead letters), expired broadcasts, idempotency records older
    /// than their window, and dead letters past `deadLetterLimit` per app (oldest first).
    ///
    /// At most `chunk` rows of each kind go in one call (inbox messages and broadcasts the
    /// soonest expired first), in one short transaction: the sweeper calls again while
    /// ``PurgeReport/isComplete`` is false, so a backlog (or a full disk, where each write
    /// fails) never holds the store's connection for long.
    func purge(now: Date, deadLetterLimit: Int, chunk: Int) async throws -> PurgeReport

    /// The app's dead letters, newest first: at most `limit`, those with an id below
    /// `before` when given (the paging cursor).
    func deadLetters(app: String, before: Int64?, limit: Int) async throws -> DeadLetterPage
}

extension MessageStore {
    /// The whole replay in one read (tests, tools).
    public func inbox(app: String, user: String, device: String, after: UInt32, now: Date) async throws -> InboxReplay {
        try await self.inbox(app: app, user: user, device: device, after: after, now: now, page: .unlimited)
    }

    /// Everything that expired, in one call (tests, and a store's own maintenance).
    public func purge(now: Date, deadLetterLimit: Int) async throws -> PurgeReport {
        try await self.purge(now: now, deadLetterLimit: deadLetterLimit, chunk: Int.max)
    }

    /// Always `true`: the store must be read to know.
    public func mayHaveInbox(app: String, user: String) -> Bool { true }
}
