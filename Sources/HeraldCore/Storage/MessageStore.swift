import NIOCore

/// The port that keeps what must survive: today the per-app broadcast sequence; with
/// durable delivery also inboxes, cursors, the broadcast log and dead letters.
/// SQLite by default, PostgreSQL in a cluster.
public protocol MessageStore: Sendable {
    /// Records a broadcast and returns its sequence: per app, it only grows, across restarts too.
    func appendBroadcast(app: String, payload: ByteBuffer, ttl: Duration?) async throws -> UInt32
    /// The sequence of the app's newest broadcast, 0 if it has none.
    func lastBroadcastSequence(app: String) async throws -> UInt32
}

/// Why a store call failed, in terms the API can map to a status.
public enum MessageStoreError: Error, Sendable, Hashable {
    /// The database cannot be reached or refused the write: retry later.
    case unavailable(String)
}
