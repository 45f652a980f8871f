import HeraldCore
import NIOCore
import PostgresNIO

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The ``MessageStore`` on PostgreSQL: QoS 1 inboxes with acknowledgement cursors, the
/// broadcast log, dead letters and idempotency records, shared by every Herald process
/// using the database.
///
/// Sequences come from rows locked for the writing transaction (`inbox_state`,
/// `broadcast_state`), so processes writing at once never give the same one; appends go
/// through group commit (``PostgresInboxWriter``). Reads run as one statement, so what they
/// return is one consistent snapshot. Failures of the database, including a call that
/// waits too long, throw ``MessageStoreError/unavailable(_:)``.
public struct PostgresMessageStore: MessageStore {
    private let executor: PostgresExecutor
    private let writer: PostgresInboxWriter

    init(executor: PostgresExecutor, maxBatch: Int) {
        self.executor = executor
        self.writer = PostgresInboxWriter(executor: executor, maxBatch: maxBatch)
    }

    // MARK: - Inboxes

    public func appendInbox(_ append: InboxAppend) async throws -> InboxAppendResult {
        try await self.writer.append(append)
    }

    public func inbox(app: String, user: String, device: String, after: UInt32, now: Date, page: InboxPage) async throws
        -> InboxReplay
    {
        let now = now.timeIntervalSince1970
        let after = Int64(after)
        let rowLimit = Int64(page.rows) + 1
        let byteLimit = Int64(page.bytes)
        let row = try await self.executor.withConnection { connection in
            try await self.executor.run(
                connection,
                """
                WITH cur AS (
                    SELECT COALESCE(
                        (SELECT c.seq FROM inbox_cursors c WHERE c.app = \(app) AND c.user_id = \(user) AND c.device = \(device)),
                        0) AS seq
                ),
                replay AS (
                    SELECT p.seq, p.payload FROM (
                        SELECT m.seq, m.payload,
                            sum(octet_length(m.payload)) OVER (ORDER BY m.seq ROWS UNBOUNDED PRECEDING)
                                - octet_length(m.payload) AS before
                        FROM inbox_messages m, cur
                        WHERE m.app = \(app) AND m.user_id = \(user) AND m.expires_at > \(now)
                          AND m.seq > GREATEST(cur.seq, \(after))
                        ORDER BY m.seq
                        LIMIT \(rowLimit)
                    ) p
                    WHERE p.before < \(byteLimit)
                )
                SELECT
                    cur.seq,
                    COALESCE(s.last_seq, 0),
                    GREATEST(COALESCE(s.lost_through, 0), COALESCE(
                        (SELECT max(m.seq) FROM inbox_messages m
                         WHERE m.app = \(app) AND m.user_id = \(user) AND m.expires_at <= \(now)), 0)),
                    ARRAY(SELECT r.seq FROM replay r ORDER BY r.seq),
                    ARRAY(SELECT r.payload FROM replay r ORDER BY r.seq)
                FROM cur LEFT JOIN inbox_state s ON s.app = \(app) AND s.user_id = \(user)
                """
            ).first
        }
        guard let row else { throw MessageStoreError.unavailable("the inbox query returned no row") }
        let (cursor, last, lost, seqs, payloads) = try Self.decoding {
            try row.decode((Int64, Int64, Int64, [Int64], [ByteBuffer]).self)
        }
        let (messages, isComplete) = page.cut(try Self.messages(seqs, payloads))
        return InboxReplay(
            messages: messages,
            cursor: try Self.sequence(cursor),
            lastSequence: try Self.sequence(last),
            lostThrough: try Self.sequence(lost),
            isComplete: isComplete
        )
    }

    public func acknowledge(_ acknowledgements: [InboxAcknowledgement]) async throws {
        guard !acknowledgements.isEmpty else { return }
        let apps = acknowledgements.map(\.app)
        let users = acknowledgements.map(\.user)
        let devices = acknowledgements.map(\.device)
        let seqs = acknowledgements.map { Int64($0.seq) }
        // One row per device (ON CONFLICT may touch a row once), locked in one order; a user
        // never sent to has no inbox_state row and so gets no cursor.
        _ = try await self.executor.withConnection { connection in
            try await self.executor.run(
                connection,
                """
                INSERT INTO inbox_cursors (app, user_id, device, seq)
                SELECT a.app, a.user_id, a.device, LEAST(max(a.seq), min(s.last_seq))
                FROM unnest(\(apps)::text[], \(users)::text[], \(devices)::text[], \(seqs)::int8[])
                    AS a(app, user_id, device, seq)
                JOIN inbox_state s ON s.app = a.app AND s.user_id = a.user_id
                GROUP BY a.app, a.user_id, a.device
                HAVING LEAST(max(a.seq), min(s.last_seq)) > 0
                ORDER BY a.app COLLATE "C", a.user_id COLLATE "C", a.device COLLATE "C"
                ON CONFLICT (app, user_id, device) DO UPDATE SET seq = GREATEST(inbox_cursors.seq, excluded.seq)
                """
            )
        }
    }

    public func lastInboxSequence(app: String, user: String) async throws -> UInt32 {
        let rows = try await self.executor.withConnection { connection in
            try await self.executor.run(
                connection,
                "SELECT last_seq FROM inbox_state WHERE app = \(app) AND user_id = \(user)"
            )
        }
        guard let row = rows.first else { return 0 }
        return try Self.sequence(try Self.decoding { try row.decode(Int64.self) })
    }

    // MARK: - Broadcasts

    public func appendBroadcast(app: String, payload: ByteBuffer, ttl: Duration, keep: Int, now: Date) async throws
        -> UInt32
    {
        let now = now.timeIntervalSince1970
        let expiresAt = now + ttl.timeInterval
        let keep = Int64(max(0, keep))
        // One statement, atomic on its own (migration 4 has the function and says why its
        // trim sees other nodes' rows); the app's log row lock serialises its broadcasts
        // across processes.
        let last = try await self.executor.withConnection { connection in
            let rows: [PostgresRow]
            do {
                rows = try await self.executor.run(
                    connection,
                    "SELECT herald_append_broadcast(\(app), \(payload), \(expiresAt), \(keep))"
                )
            } catch let error as PSQLError where error.serverInfo?[.sqlState] == Self.sequenceExhaustedState {
                throw MessageStoreError.sequenceExhausted(app: app)
            }
            guard let row = rows.first else {
                throw MessageStoreError.unavailable("the broadcast append returned no row")
            }
            return try Self.decoding { try row.decode(Int64.self) }
        }
        guard let seq = UInt32(exactly: last) else {
            throw MessageStoreError.unavailable("the broadcast append returned sequence \(last)")
        }
        return seq
    }

    /// What `herald_append_broadcast` raises past the 32-bit sequence space.
    static let sequenceExhaustedState = "HB001"

    public func broadcasts(app: String, after: UInt32, now: Date) async throws -> BroadcastReplay {
        let now = now.timeIntervalSince1970
        let after = Int64(after)
        let row = try await self.executor.withConnection { connection in
            try await self.executor.run(
                connection,
                """
                WITH replay AS (
                    SELECT b.seq, b.payload FROM broadcasts b
                    WHERE b.app = \(app) AND b.expires_at > \(now) AND b.seq > \(after)
                )
                SELECT
                    COALESCE(s.last_seq, 0),
                    GREATEST(COALESCE(s.trimmed_through, 0), COALESCE(
                        (SELECT max(b.seq) FROM broadcasts b WHERE b.app = \(app) AND b.expires_at <= \(now)), 0)),
                    ARRAY(SELECT r.seq FROM replay r ORDER BY r.seq),
                    ARRAY(SELECT r.payload FROM replay r ORDER BY r.seq)
                FROM (SELECT 1) AS one LEFT JOIN broadcast_state s ON s.app = \(app)
                """
            ).first
        }
        guard let row else { throw MessageStoreError.unavailable("the broadcast query returned no row") }
        let (last, trimmed, seqs, payloads) = try Self.decoding {
            try row.decode((Int64, Int64, [Int64], [ByteBuffer]).self)
        }
        return BroadcastReplay(
            messages: try Self.messages(seqs, payloads),
            lastSequence: try Self.sequence(last),
            trimmedThrough: try Self.sequence(trimmed)
        )
    }

    public func lastBroadcastSequence(app: String) async throws -> UInt32 {
        let rows = try await self.executor.withConnection { connection in
            try await self.executor.run(connection, "SELECT last_seq FROM broadcast_state WHERE app = \(app)")
        }
        guard let row = rows.first else { return 0 }
        return try Self.sequence(try Self.decoding { try row.decode(Int64.self) })
    }

    // MARK: - Sweeping and dead letters

    public func purge(now: Date, deadLetterLimit: Int, chunk: Int) async throws -> PurgeReport {
        let chunk = max(1, chunk)
        let chunkLimit = Int64(chunk)
        let now = now.timeIntervalSince1970
        let idempotencyCutoff = now - InboxAppend.idempotencyWindow.timeInterval
        let deadLetterLimit = Int64(max(0, deadLetterLimit))
        return try await self.executor.transaction { connection in
            var report = PurgeReport()
            // This call's chunk is the soonest expired `chunk` rows (ties by their place in the
            // table, stable within the transaction). The rows every writer locks first, in the
            // writers' order: no deadlock with appends.
            try await self.executor.run(
                connection,
                """
                SELECT 1 FROM inbox_state s
                WHERE (s.app, s.user_id) IN (
                    SELECT DISTINCT c.app, c.user_id FROM (
                        SELECT m.app, m.user_id FROM inbox_messages m WHERE m.expires_at <= \(now)
                        ORDER BY m.expires_at, m.ctid LIMIT \(chunkLimit)
                    ) c
                )
                ORDER BY s.app COLLATE "C", s.user_id COLLATE "C"
                FOR UPDATE
                """
            )
            let inbox = try await self.executor.run(
                connection,
                """
                WITH gone AS (
                    DELETE FROM inbox_messages m
                    WHERE m.ctid = ANY(ARRAY(
                        SELECT x.ctid FROM inbox_messages x WHERE x.expires_at <= \(now)
                        ORDER BY x.expires_at, x.ctid LIMIT \(chunkLimit)
                    ))
                    RETURNING m.app, m.user_id, m.seq, m.payload, m.keeps_dead_letter, m.created_at
                ),
                dead AS (
                    INSERT INTO dead_letters (app, user_id, seq, payload, reason, created_at, died_at)
                    SELECT g.app, g.user_id, g.seq, g.payload, 'expired', g.created_at, \(now)
                    FROM gone g
                    WHERE g.keeps_dead_letter
                      AND g.seq > COALESCE(
                          (SELECT max(c.seq) FROM inbox_cursors c WHERE c.app = g.app AND c.user_id = g.user_id), 0)
                    ORDER BY g.app, g.user_id, g.seq
                    RETURNING 1
                ),
                lost AS (
                    UPDATE inbox_state s SET lost_through = GREATEST(s.lost_through, l.seq)
                    FROM (SELECT g.app, g.user_id, max(g.seq) AS seq FROM gone g GROUP BY g.app, g.user_id) l
                    WHERE s.app = l.app AND s.user_id = l.user_id
                )
                SELECT (SELECT count(*) FROM gone), (SELECT count(*) FROM dead)
                """
            )
            if let row = inbox.first {
                let (gone, dead) = try Self.decoding { try row.decode((Int64, Int64).self) }
                report.deadLettered = Int(dead)
                report.expired = Int(gone - dead)
            }
            try await self.executor.run(
                connection,
                """
                SELECT 1 FROM broadcast_state s
                WHERE s.app IN (
                    SELECT DISTINCT c.app FROM (
                        SELECT b.app FROM broadcasts b WHERE b.expires_at <= \(now)
                        ORDER BY b.expires_at, b.ctid LIMIT \(chunkLimit)
                    ) c
                )
                ORDER BY s.app COLLATE "C"
                FOR UPDATE
                """
            )
            report.broadcasts = try await self.count(
                connection,
                """
                WITH gone AS (
                    DELETE FROM broadcasts b
                    WHERE b.ctid = ANY(ARRAY(
                        SELECT x.ctid FROM broadcasts x WHERE x.expires_at <= \(now)
                        ORDER BY x.expires_at, x.ctid LIMIT \(chunkLimit)
                    ))
                    RETURNING b.app, b.seq
                ),
                trimmed AS (
                    UPDATE broadcast_state s SET trimmed_through = GREATEST(s.trimmed_through, t.seq)
                    FROM (SELECT g.app, max(g.seq) AS seq FROM gone g GROUP BY g.app) t
                    WHERE s.app = t.app
                )
                SELECT count(*) FROM gone
                """
            )
            report.deadLettersTrimmed = try await self.count(
                connection,
                """
                WITH gone AS (
                    DELETE FROM dead_letters d
                    USING (
                        SELECT r.id FROM (
                            SELECT x.id, row_number() OVER (PARTITION BY x.app ORDER BY x.id DESC) AS newer
                            FROM dead_letters x
                        ) r
                        WHERE r.newer > \(deadLetterLimit)
                        LIMIT \(chunkLimit)
                    ) old
                    WHERE d.id = old.id
                    RETURNING 1
                )
                SELECT count(*) FROM gone
                """
            )
            report.idempotencyRecords = try await self.count(
                connection,
                """
                WITH gone AS (
                    DELETE FROM idempotency_records
                    WHERE ctid = ANY(ARRAY(
                        SELECT x.ctid FROM idempotency_records x WHERE x.created_at <= \(idempotencyCutoff)
                        LIMIT \(chunkLimit)
                    ))
                    RETURNING 1
                )
                SELECT count(*) FROM gone
                """
            )
            report.noteChunk(chunk)
            return report
        }
    }

    public func deadLetters(app: String, before: Int64?, limit: Int) async throws -> DeadLetterPage {
        let limit = max(0, limit)
        let rows = try await self.executor.withConnection { connection in
            try await self.executor.run(
                connection,
                """
                SELECT id, user_id, seq, payload, reason, created_at, died_at FROM dead_letters
                WHERE app = \(app) AND (\(before)::int8 IS NULL OR id < \(before)::int8)
                ORDER BY id DESC
                LIMIT \(Int64(limit) + 1)
                """
            )
        }
        var letters: [DeadLetter] = []
        letters.reserveCapacity(min(rows.count, limit))
        for row in rows.prefix(limit) {
            let (id, user, seq, payload, reason, createdAt, diedAt) = try Self.decoding {
                try row.decode((Int64, String, Int64, ByteBuffer, String, Double, Double).self)
            }
            guard let reason = DeadLetterReason(rawValue: reason) else {
                throw MessageStoreError.unavailable("a dead letter has an unknown reason")
            }
            letters.append(
                DeadLetter(
                    id: id,
                    app: app,
                    user: user,
                    seq: try Self.sequence(seq),
                    payload: payload,
                    reason: reason,
                    createdAt: Date(timeIntervalSince1970: createdAt),
                    diedAt: Date(timeIntervalSince1970: diedAt)
                )
            )
        }
        let more = rows.count > limit
        return DeadLetterPage(deadLetters: letters, next: more ? letters.last?.id : nil)
    }

    // MARK: - Helpers

    private func count(_ connection: PostgresConnection, _ query: PostgresQuery) async throws -> Int {
        guard let row = try await self.executor.run(connection, query).first else { return 0 }
        return Int(try Self.decoding { try row.decode(Int64.self) })
    }

    /// Runs `decode`, reporting a row of the wrong shape as the database's failure.
    private static func decoding<T>(_ decode: () throws -> T) throws -> T {
        do {
            return try decode()
        } catch {
            throw MessageStoreError.unavailable("PostgreSQL returned an unexpected row: \(error)")
        }
    }

    private static func sequence(_ value: Int64) throws -> UInt32 {
        guard let seq = UInt32(exactly: value) else {
            throw MessageStoreError.unavailable("a stored sequence is out of range: \(value)")
        }
        return seq
    }

    private static func messages(_ seqs: [Int64], _ payloads: [ByteBuffer]) throws -> [StoredMessage] {
        guard seqs.count == payloads.count else {
            throw MessageStoreError.unavailable("PostgreSQL returned mismatched replay arrays")
        }
        return try zip(seqs, payloads).map { StoredMessage(seq: try Self.sequence($0), payload: $1) }
    }
}
