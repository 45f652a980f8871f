import HeraldCore
import NIOCore
import SQLiteNIO

/// A ``MessageStore`` in ``SQLiteStore``: today the per-app broadcast sequence.
///
/// The broadcast's payload and TTL are not kept yet (nodes replay nothing, see
/// `LiveOnlyReplay`); the broadcast log comes with durable delivery.
public struct SQLiteMessageStore: MessageStore {
    private let executor: SQLiteExecutor

    init(executor: SQLiteExecutor) {
        self.executor = executor
    }

    public func appendBroadcast(app: String, payload: ByteBuffer, ttl: Duration?) async throws -> UInt32 {
        try await self.executor.transaction { connection in
            let rows = try await connection.query(
                """
                INSERT INTO broadcast_sequences (app, seq) VALUES (?1, 1)
                ON CONFLICT (app) DO UPDATE SET seq = seq + 1
                RETURNING seq
                """,
                [.text(app)]
            )
            guard let value = rows.first?.column("seq")?.integer else {
                throw MessageStoreError.unavailable("the broadcast sequence update returned no row")
            }
            // Throwing rolls the increment back: the sequence never wraps within an epoch.
            guard let seq = UInt32(exactly: value) else {
                throw MessageStoreError.unavailable("the broadcast sequence of app \(app) is exhausted")
            }
            return seq
        }
    }

    public func lastBroadcastSequence(app: String) async throws -> UInt32 {
        let value = try await self.executor.withConnection { connection in
            try await connection.query("SELECT seq FROM broadcast_sequences WHERE app = ?1", [.text(app)])
                .first?.column("seq")?.integer
        }
        return value.flatMap { UInt32(exactly: $0) } ?? 0
    }
}
