import NIOCore

/// How much of an inbox one read returns: at most `rows` messages and about `bytes` of
/// payload (a read returns at least one message however large, and stops after the message
/// that reaches `bytes`). A replay reads an inbox page by page, so no AUTH holds more.
public struct InboxPage: Sendable, Hashable {
    public var rows: Int
    public var bytes: Int

    public init(rows: Int, bytes: Int) {
        self.rows = max(1, rows)
        self.bytes = max(1, bytes)
    }

    /// Everything at once.
    public static let unlimited = InboxPage(rows: Int.max - 1, bytes: Int.max)

    /// A replay's default: 1,000 messages or 4 MiB.
    public static let replay = InboxPage(rows: 1_000, bytes: 4 << 20)

    /// The messages a read of this page returns from `messages` (in sequence order, at most
    /// `rows + 1` of them, as the stores' queries ask), and whether the inbox may hold more.
    public func cut(_ messages: [StoredMessage]) -> (messages: [StoredMessage], isComplete: Bool) {
        var total = 0
        var kept = 0
        for message in messages {
            guard kept < self.rows, total < self.bytes else { break }
            total += message.payload.readableBytes
            kept += 1
        }
        // More may follow when the rows ran out or the bytes were reached: a next read tells.
        let isComplete = kept == messages.count && total < self.bytes
        return (kept == messages.count ? messages : Array(messages.prefix(kept)), isComplete)
    }
}
