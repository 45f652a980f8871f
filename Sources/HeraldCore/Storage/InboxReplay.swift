import NIOCore

/// A user's inbox as one device should be replayed it (``MessageStore/inbox(app:user:device:after:now:)``).
public struct InboxReplay: Sendable, Hashable {
    /// Unexpired messages above `max(cursor, after)`, in sequence order.
    public var messages: [StoredMessage]
    /// The device's acknowledged cursor, 0 for a device never seen.
    public var cursor: UInt32
    /// The user's newest sequence.
    public var lastSequence: UInt32
    /// The highest sequence that left the inbox by expiry or the inbox bound (0 if none).
    public var lostThrough: UInt32
    /// False when the read stopped at its page's bound: the next read starts after the last
    /// message.
    public var isComplete: Bool

    public init(
        messages: [StoredMessage], cursor: UInt32, lastSequence: UInt32, lostThrough: UInt32, isComplete: Bool = true
    ) {
        self.messages = messages
        self.cursor = cursor
        self.lastSequence = lastSequence
        self.lostThrough = lostThrough
        self.isComplete = isComplete
    }
}

/// A stored message: an inbox entry or a kept broadcast.
public struct StoredMessage: Sendable, Hashable {
    public var seq: UInt32
    public var payload: ByteBuffer

    public init(seq: UInt32, payload: ByteBuffer) {
        self.seq = seq
        self.payload = payload
    }
}

/// One device's cumulative acknowledgement.
public struct InboxAcknowledgement: Sendable, Hashable {
    public var app: String
    public var user: String
    public var device: String
    public var seq: UInt32

    public init(app: String, user: String, device: String, seq: UInt32) {
        self.app = app
        self.user = user
        self.device = device
        self.seq = seq
    }
}

/// The app's broadcast log above a sequence (``MessageStore/broadcasts(app:after:now:)``).
public struct BroadcastReplay: Sendable, Hashable {
    /// Kept, unexpired broadcasts above `after`, in order.
    public var messages: [StoredMessage]
    /// The app's newest broadcast sequence.
    public var lastSequence: UInt32
    /// The highest sequence that left the log by TTL or count (0 if none).
    public var trimmedThrough: UInt32

    public init(messages: [StoredMessage], lastSequence: UInt32, trimmedThrough: UInt32) {
        self.messages = messages
        self.lastSequence = lastSequence
        self.trimmedThrough = trimmedThrough
    }
}
