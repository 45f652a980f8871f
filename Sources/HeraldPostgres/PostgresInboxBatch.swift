import HeraldCore
import PostgresNIO

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Stores a group-commit batch (or one request of it) with a fixed number of statements,
/// whatever its size: idempotency claims (up to two statements, only when some request has
/// a key), one read of the stored messages the batch may trim, and one write of everything
/// (messages, deletions, dead letters, `inbox_state`, idempotency records), all passed as
/// arrays. What to write is worked out by ``InboxPlanner``.
///
/// Runs inside the batch transaction, after ``PostgresInboxWriter`` locked every inbox of the
/// batch. A request answered from its idempotency record, or in conflict with it, fails or
/// succeeds alone without writing anything.
struct PostgresInboxBatch {
    var batch: [InboxAppend]
    /// Each inbox's last sequence, read while locking it (or as earlier requests left it).
    var lastSeqs: [InboxKey: UInt32]
    var connection: PostgresConnection
    var executor: PostgresExecutor

    /// Stores the batch; returns one result per request and each written inbox's new last
    /// sequence.
    func store() async throws -> (results: [Result<InboxAppendResult, any Error>], lastSeqs: [InboxKey: UInt32]) {
        let claims = try await self.claimIdempotencyKeys()
        let planner = InboxPlanner(batch: self.batch, records: claims.records)
        var state = InboxState(records: claims.records)
        for key in planner.inboxes {
            guard let last = self.lastSeqs[key] else {
                throw MessageStoreError.unavailable("no inbox row for a user of the batch")
            }
            state.inboxes[key] = InboxState.Inbox(lastSequence: last)
        }
        let reads = planner.reads(lastSequences: self.lastSeqs)
        if !reads.isEmpty {
            try await self.readInboxes(reads, into: &state)
        }
        let plan = planner.plan(state)
        let recorded = Set(plan.records.map { InboxState.RecordKey(app: $0.app, key: $0.key) })
        if !claims.claimed.isSubset(of: recorded) {
            // A claimed key must leave with a result; the per-request path rolls such a request back.
            throw MessageStoreError.unavailable("a claimed idempotency key got no record")
        }
        try await self.write(plan)
        return (plan.results.map { $0.mapError { $0 } }, plan.lastSequences)
    }

    // MARK: - Idempotency

    /// Claims every key of the batch in one statement and, for the keys already recorded,
    /// reads their records (waiting for a writer still holding one). The planner answers from
    /// them; a record past its window is taken over by the write, as if absent.
    /// - Returns: the keys claimed now (no record yet) and the records found.
    private func claimIdempotencyKeys() async throws -> (
        claimed: Set<InboxState.RecordKey>, records: [InboxState.RecordKey: InboxState.Record]
    ) {
        var keyed: [(key: InboxKey, request: Int)] = []
        var seen: Set<InboxKey> = []
        for (index, append) in self.batch.enumerated() {
            if let idempotency = append.idempotency {
                let key = InboxKey(app: append.app, user: idempotency.key)
                if seen.insert(key).inserted { keyed.append((key, index)) }
            }
        }
        guard !keyed.isEmpty else { return ([], [:]) }
        // One order for every process, as for inboxes: no cycle of waits on each other's keys.
        keyed.sort { $0.key < $1.key }
        var fingerprints: [String] = []
        var nows: [Double] = []
        for entry in keyed {
            let append = self.batch[entry.request]
            fingerprints.append(append.idempotency?.fingerprint ?? "")
            nows.append(append.now.timeIntervalSince1970)
        }
        let apps = keyed.map(\.key.app)
        let keys = keyed.map(\.key.user)
        let claimedRows = try await self.executor.run(
            self.connection,
            """
            INSERT INTO idempotency_records (app, key, fingerprint, result, created_at)
            SELECT t.app, t.key, t.fingerprint, NULL, t.now
            FROM unnest(\(apps)::text[], \(keys)::text[], \(fingerprints)::text[], \(nows)::float8[])
                WITH ORDINALITY AS t(app, key, fingerprint, now, n)
            ORDER BY t.n
            ON CONFLICT (app, key) DO NOTHING
            RETURNING app, key
            """
        )
        var claimed: Set<InboxState.RecordKey> = []
        for row in claimedRows {
            let (app, key) = try row.decode((String, String).self)
            claimed.insert(InboxState.RecordKey(app: app, key: key))
        }
        let recorded = keyed.filter { !claimed.contains(InboxState.RecordKey(app: $0.key.app, key: $0.key.user)) }
        guard !recorded.isEmpty else { return (claimed, [:]) }

        let rows = try await self.executor.run(
            self.connection,
            """
            SELECT r.app, r.key, r.fingerprint, r.result::text, r.created_at
            FROM idempotency_records r
            JOIN unnest(\(recorded.map(\.key.app))::text[], \(recorded.map(\.key.user))::text[]) AS t(app, key)
                ON r.app = t.app AND r.key = t.key
            ORDER BY r.app, r.key
            FOR UPDATE OF r
            """
        )
        var records: [InboxState.RecordKey: InboxState.Record] = [:]
        for row in rows {
            let (app, key, fingerprint, result, createdAt) = try row.decode((String, String, String, String?, Double).self)
            records[InboxState.RecordKey(app: app, key: key)] = InboxState.Record(
                fingerprint: fingerprint,
                result: result.flatMap { try? JSONDecoder().decode(InboxAppendResult.self, from: Data($0.utf8)) },
                createdAt: Date(timeIntervalSince1970: createdAt)
            )
        }
        guard records.count == recorded.count else {
            throw MessageStoreError.unavailable("the idempotency record vanished while claimed")
        }
        return (claimed, records)
    }

    // MARK: - Inboxes

    /// Reads what the planner asks of the inboxes the batch may trim: the stored messages
    /// older than the skipped newest ones, the skipped ones with a collapse key of the batch,
    /// and the highest acknowledged cursor.
    private func readInboxes(_ reads: [InboxKey: InboxPlanner.Read], into state: inout InboxState) async throws {
        var apps: [String] = []
        var users: [String] = []
        var skips: [Int64] = []
        var collapse: [(key: InboxKey, collapseKey: String)] = []
        for (key, read) in reads {
            apps.append(key.app)
            users.append(key.user)
            skips.append(Int64(read.skip))
            for collapseKey in read.collapseKeys { collapse.append((key, collapseKey)) }
            state.inboxes[key]?.skipped = read.skip
        }
        let rows = try await self.executor.run(
            self.connection,
            """
            SELECT t.app, t.user_id, m.seq, m.collapse_key, m.keeps_dead_letter, 0 AS kind
            FROM unnest(\(apps)::text[], \(users)::text[], \(skips)::bigint[]) AS t(app, user_id, skip)
            CROSS JOIN LATERAL (
                -- Skips the newest messages on the primary key alone (no row is read for
                -- them), then reads the older ones.
                SELECT x.seq, x.collapse_key, x.keeps_dead_letter FROM inbox_messages x
                WHERE x.app = t.app AND x.user_id = t.user_id AND x.seq <= (
                    SELECT y.seq FROM inbox_messages y
                    WHERE y.app = t.app AND y.user_id = t.user_id
                    ORDER BY y.seq DESC OFFSET t.skip LIMIT 1
                )
            ) m
            UNION ALL
            SELECT m.app, m.user_id, m.seq, m.collapse_key, m.keeps_dead_letter, 1
            FROM unnest(\(collapse.map(\.key.app))::text[], \(collapse.map(\.key.user))::text[],
                        \(collapse.map(\.collapseKey))::text[]) AS c(app, user_id, collapse_key)
            JOIN inbox_messages m ON m.app = c.app AND m.user_id = c.user_id
                AND m.collapse_key IS NOT NULL AND m.collapse_key = c.collapse_key
            UNION ALL
            SELECT c.app, c.user_id, max(c.seq), NULL, false, 2
            FROM inbox_cursors c
            JOIN unnest(\(apps)::text[], \(users)::text[]) AS t(app, user_id) ON c.app = t.app AND c.user_id = t.user_id
            GROUP BY c.app, c.user_id
            """
        )
        for row in rows {
            let (app, user, seq, collapseKey, keeps, kind) = try row.decode((String, String, Int64, String?, Bool, Int32).self)
            let key = InboxKey(app: app, user: user)
            guard let seq = UInt32(exactly: seq) else {
                throw MessageStoreError.unavailable("inbox_messages holds an impossible sequence")
            }
            let entry = InboxState.Entry(seq: seq, collapseKey: collapseKey, keepsDeadLetter: keeps)
            switch kind {
            case 0: state.inboxes[key]?.oldest.append(entry)
            case 1: state.inboxes[key]?.collapsible.append(entry)
            default: state.inboxes[key]?.acknowledged = seq
            }
        }
    }

    /// Writes the whole plan in one statement. Every part reads the tables as they were
    /// before it, so the dead letters copy stored rows that the deletions remove.
    private func write(_ plan: InboxPlan) async throws {
        var stateApps: [String] = []
        var stateUsers: [String] = []
        var stateLast: [Int64] = []
        var stateLost: [Int64] = []
        for (key, last) in plan.lastSequences {
            stateApps.append(key.app)
            stateUsers.append(key.user)
            stateLast.append(Int64(last))
            stateLost.append(Int64(plan.lostThrough[key] ?? 0))
        }

        var apps: [String] = []
        var users: [String] = []
        var seqs: [Int64] = []
        var payloads: [ByteBuffer] = []
        var collapseKeys: [String] = []
        var hasCollapseKey: [Bool] = []
        var keeps: [Bool] = []
        var createdAt: [Double] = []
        var expiresAt: [Double] = []
        for insertion in plan.insertions {
            let append = self.batch[insertion.request]
            let message = append.messages[insertion.message]
            let now = append.now.timeIntervalSince1970
            apps.append(insertion.key.app)
            users.append(insertion.key.user)
            seqs.append(Int64(insertion.seq))
            payloads.append(message.payload)
            collapseKeys.append(message.collapseKey ?? "")
            hasCollapseKey.append(message.collapseKey != nil)
            keeps.append(message.keepsDeadLetter)
            createdAt.append(now)
            expiresAt.append(now + message.ttl.timeInterval)
        }

        var deadApps: [String] = []
        var deadUsers: [String] = []
        var deadSeqs: [Int64] = []
        var deadStored: [Bool] = []
        var deadPayloads: [ByteBuffer] = []
        var deadCreated: [Double] = []
        var deadDied: [Double] = []
        var deadOrder: [Int64] = []
        for (order, dead) in plan.deadLetters.enumerated() {
            deadApps.append(dead.key.app)
            deadUsers.append(dead.key.user)
            deadSeqs.append(Int64(dead.seq))
            deadDied.append(dead.diedAt.timeIntervalSince1970)
            deadOrder.append(Int64(order))
            switch dead.source {
            case .stored:
                deadStored.append(true)
                deadPayloads.append(ByteBuffer())
                deadCreated.append(0)
            case .batch(let request, let message):
                deadStored.append(false)
                deadPayloads.append(self.batch[request].messages[message].payload)
                deadCreated.append(self.batch[request].now.timeIntervalSince1970)
            }
        }

        var records: [(app: String, key: String, fingerprint: String, result: String, createdAt: Double)] = []
        for record in plan.records {
            let json = String(decoding: try JSONEncoder().encode(record.result), as: UTF8.self)
            records.append((record.app, record.key, record.fingerprint, json, record.createdAt.timeIntervalSince1970))
        }

        let removals = plan.removals
        let replacements = plan.replacements
        try await self.executor.run(
            self.connection,
            """
            WITH state AS (
                UPDATE inbox_state s
                SET last_seq = v.last_seq, lost_through = GREATEST(s.lost_through, v.lost)
                FROM unnest(\(stateApps)::text[], \(stateUsers)::text[], \(stateLast)::bigint[], \(stateLost)::bigint[])
                    AS v(app, user_id, last_seq, lost)
                WHERE s.app = v.app AND s.user_id = v.user_id
            ),
            dead AS (
                INSERT INTO dead_letters (app, user_id, seq, payload, reason, created_at, died_at)
                SELECT d.app, d.user_id, d.seq, CASE WHEN d.stored THEN m.payload ELSE d.payload END, 'inbox_full',
                       CASE WHEN d.stored THEN m.created_at ELSE d.created_at END, d.died_at
                FROM unnest(\(deadApps)::text[], \(deadUsers)::text[], \(deadSeqs)::bigint[], \(deadStored)::bool[],
                            \(deadPayloads)::bytea[], \(deadCreated)::float8[], \(deadDied)::float8[],
                            \(deadOrder)::bigint[])
                    AS d(app, user_id, seq, stored, payload, created_at, died_at, ord)
                LEFT JOIN inbox_messages m ON d.stored AND m.app = d.app AND m.user_id = d.user_id AND m.seq = d.seq
                WHERE NOT d.stored OR m.seq IS NOT NULL
                ORDER BY d.ord
            ),
            replaced AS (
                DELETE FROM inbox_messages m
                USING unnest(\(replacements.map(\.key.app))::text[], \(replacements.map(\.key.user))::text[],
                             \(replacements.map(\.collapseKey))::text[]) AS r(app, user_id, collapse_key)
                WHERE m.app = r.app AND m.user_id = r.user_id
                    AND m.collapse_key IS NOT NULL AND m.collapse_key = r.collapse_key
            ),
            removed AS (
                DELETE FROM inbox_messages m
                USING unnest(\(removals.map(\.key.app))::text[], \(removals.map(\.key.user))::text[],
                             \(removals.map { Int64($0.seq) })::bigint[]) AS r(app, user_id, seq)
                WHERE m.app = r.app AND m.user_id = r.user_id AND m.seq = r.seq
            ),
            inserted AS (
                INSERT INTO inbox_messages (app, user_id, seq, payload, collapse_key, keeps_dead_letter, created_at, expires_at)
                SELECT n.app, n.user_id, n.seq, n.payload, CASE WHEN n.has_key THEN n.collapse_key END,
                       n.keeps, n.created_at, n.expires_at
                FROM unnest(\(apps)::text[], \(users)::text[], \(seqs)::bigint[], \(payloads)::bytea[],
                            \(collapseKeys)::text[], \(hasCollapseKey)::bool[], \(keeps)::bool[],
                            \(createdAt)::float8[], \(expiresAt)::float8[])
                    AS n(app, user_id, seq, payload, collapse_key, has_key, keeps, created_at, expires_at)
            ),
            records AS (
                UPDATE idempotency_records r
                SET fingerprint = v.fingerprint, result = v.result::jsonb, created_at = v.created_at
                FROM unnest(\(records.map(\.app))::text[], \(records.map(\.key))::text[],
                            \(records.map(\.fingerprint))::text[], \(records.map(\.result))::text[],
                            \(records.map(\.createdAt))::float8[])
                    AS v(app, key, fingerprint, result, created_at)
                WHERE r.app = v.app AND r.key = v.key
            )
            SELECT 1
            """
        )
    }
}
