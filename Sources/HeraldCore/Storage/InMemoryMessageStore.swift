import NIOConcurrencyHelpers
import NIOCore

/// A ``MessageStore`` that lives in memory: for tests.
public final class InMemoryMessageStore: MessageStore {
    private let broadcastSequences = NIOLockedValueBox<[String: UInt32]>([:])

    public init() {}

    public func appendBroadcast(app: String, payload: ByteBuffer, ttl: Duration?) async throws -> UInt32 {
        self.broadcastSequences.withLockedValue { sequences in
            let next = (sequences[app] ?? 0) &+ 1
            sequences[app] = next
            return next
        }
    }

    public func lastBroadcastSequence(app: String) async throws -> UInt32 {
        self.broadcastSequences.withLockedValue { $0[app] ?? 0 }
    }
}
