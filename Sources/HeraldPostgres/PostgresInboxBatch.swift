import HeraldCore
import PostgresNIO

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Stores one group-commit batch with a fixed number of statements, whatever its size:
/// idempotency claims (up to three statements, only when some request has a key), one read
/// of the stored messages the batch may collapse or trim, and one write of everything
/// (messages, deletions, dead letters, `inbox_state`, idempotency results), all passed as
/// arrays. The per-message steps are worked out in memory by ``PostgresInboxPlan``.
///
/// Runs inside the batch transaction, after ``PostgresInboxWriter`` locked every inbox of the
/// batch and checked that no sequence can run out; requests whose idempotency key repeats in
/// the batch never come here. A request answered from its idempotency record, or in conflict
/// with it, fails or succeeds alone without writing anything.
struct PostgresInboxBatch {
    var batch: [InboxAppend]
    /// Each inbox's last sequence, read while locking it.
    var lastSeqs: [InboxKey: Int64]
    var connection: PostgresConnection
    var executor: PostgresExecutor

    func store() async throws -> [Result<InboxAppendResult, any Error>] {
        var answered = try await self.claimIdempotencyKeys()
        let requests = self.batch.indices.filter { answered[$0] == nil }
        let plan = try PostgresInboxPlan(batch: self.batch, requests: requests, lastSeqs: self.lastSeqs)
        let stored = try await self.readInboxes(plan)
        let writes = plan.writes(stored: stored, batch: self.batch)
        var records: [(app: String, key: String, result: String)] = []
        for request in requests {
            let result = InboxAppendResult(
                messages: plan.sequences[request] ?? [],
                deadLettered: writes.deadLettered[request] ?? 0
            )
            if let idempotency = self.batch[request].idempotency {
                let json = String(decoding: try JSONEncoder().encode(result), as: UTF8.self)
                records.append((self.batch[request].app, idempotency.key, json))
            }
            answered[request] = .success(result)
        }
        try await self.write(plan, writes, records: records)
        return try self.batch.indices.map { index in
            guard let result = answered[index] else {
                throw MessageStoreError.unavailable("a request of the batch got no result")
            }
            return result
        }
    }

    // MARK: - Idempotency

    /// Claims every key of the batch in one statement; for the keys already recorded, reads
    /// their records (waiting for a writer still holding one) and answers those requests:
    /// a retry within the window from its record, a different body as a conflict. Records
    /// past the window are taken over, as if absent.
    /// - Returns: the answers of the requests that must not run, by index.
    private func claimIdempotencyKeys() async throws -> [Int: Result<InboxAppendResult, any Error>] {
        var keyed: [(key: InboxKey, request: Int)] = []
        for (index, append) in self.batch.enumerated() {
            if let idempotency = append.idempotency {
                keyed.append((InboxKey(app: append.app, user: idempotency.key), index))
            }
        }
        guard !keyed.isEmpty else { return [:] }
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
        var claimed: Set<InboxKey> = []
        for row in claimedRows {
            let (app, key) = try row.decode((String, String).self)
            claimed.insert(InboxKey(app: app, user: key))
        }
        let recorded = keyed.filter { !claimed.contains($0.key) }
        guard !recorded.isEmpty else { return [:] }

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
        var records: [InboxKey: (fingerprint: String, result: String?, createdAt: Double)] = [:]
        for row in rows {
            let (app, key, fingerprint, result, createdAt) = try row.decode((String, String, String, String?, Double).self)
            records[InboxKey(app: app, user: key)] = (fingerprint, result, createdAt)
        }
        var answered: [Int: Result<InboxAppendResult, any Error>] = [:]
        var takenOver: [(key: InboxKey, fingerprint: String, now: Double)] = []
        for entry in recorded {
            let append = self.batch[entry.request]
            let now = append.now.timeIntervalSince1970
            let fingerprint = append.idempotency?.fingerprint ?? ""
            guard let record = records[entry.key] else {
                answered[entry.request] = .failure(
                    MessageStoreError.unavailable("the idempotency record vanished while claimed"))
                continue
            }
            guard record.createdAt > now - PostgresInboxWriter.window else {
                takenOver.append((entry.key, fingerprint, now))
                continue
            }
            guard record.fingerprint == fingerprint else {
                answered[entry.request] = .failure(MessageStoreError.idempotencyConflict)
                continue
            }
            guard let result = record.result else {
                answered[entry.request] = .failure(MessageStoreError.unavailable("the idempotency record has no result"))
                continue
            }
            do {
                let decoded = try JSONDecoder().decode(InboxAppendResult.self, from: Data(result.utf8))
                answered[entry.request] = .success(decoded.asReplayed)
            } catch {
                answered[entry.request] = .failure(
                    MessageStoreError.unavailable("the idempotency record cannot be read: \(error)"))
            }
        }
        if !takenOver.isEmpty {
            try await self.executor.run(
                self.connection,
                """
                UPDATE idempotency_records r
                SET fingerprint = t.fingerprint, result = NULL, created_at = t.now
                FROM unnest(\(takenOver.map(\.key.app))::text[], \(takenOver.map(\.key.user))::text[],
                            \(takenOver.map(\.fingerprint))::text[], \(takenOver.map(\.now))::float8[])
                    AS t(app, key, fingerprint, now)
                WHERE r.app = t.app AND r.key = t.key
                """
            )
        }
        return answered
    }

    // MARK: - Inboxes

    /// Reads, for every inbox of the plan, the stored messages its steps may reach: those
    /// past its protected newest ones (see ``PostgresInboxPlan/protectedCount(_:)``), those
    /// with a collapse key of the batch, and the highest acknowledged cursor.
    private func readInboxes(_ plan: PostgresInboxPlan) async throws -> [InboxKey: PostgresInboxPlan.Inbox] {
        var apps: [String] = []
        var users: [String] = []
        var protected: [Int64] = []
        for (key, events) in plan.events {
            apps.append(key.app)
            users.append(key.user)
            protected.append(Int64(PostgresInboxPlan.protectedCount(events)))
        }
        guard !apps.isEmpty else { return [:] }
        let collapse = plan.collapseKeys
        let rows = try await self.executor.run(
            self.connection,
            """
            SELECT t.app, t.user_id, m.seq, m.collapse_key, m.keeps_dead_letter, 0 AS kind
            FROM unnest(\(apps)::text[], \(users)::text[], \(protected)::bigint[]) AS t(app, user_id, protected)
            CROSS JOIN LATERAL (
                -- Skips the protected messages on the primary key alone (no row is read for
                -- them), then reads the older ones.
                SELECT x.seq, x.collapse_key, x.keeps_dead_letter FROM inbox_messages x
                WHERE x.app = t.app AND x.user_id = t.user_id AND x.seq <= (
                    SELECT y.seq FROM inbox_messages y
                    WHERE y.app = t.app AND y.user_id = t.user_id
                    ORDER BY y.seq DESC OFFSET t.protected LIMIT 1
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
        var inboxes: [InboxKey: PostgresInboxPlan.Inbox] = [:]
        for row in rows {
            let (app, user, seq, collapseKey, keeps, kind) = try row.decode((String, String, Int64, String?, Bool, Int32).self)
            let key = InboxKey(app: app, user: user)
            let stored = PostgresInboxPlan.Stored(seq: seq, collapseKey: collapseKey, keepsDeadLetter: keeps)
            switch kind {
            case 0: inboxes[key, default: .init()].oldest.append(stored)
            case 1: inboxes[key, default: .init()].collapsible.append(stored)
            default: inboxes[key, default: .init()].cursor = seq
            }
        }
        return inboxes
    }

    /// Writes the whole batch in one statement.
    private func write(
        _ plan: PostgresInboxPlan,
        _ writes: PostgresInboxPlan.Writes,
        records: [(app: String, key: String, result: String)]
    ) async throws {
        var stateApps: [String] = []
        var stateUsers: [String] = []
        var stateLast: [Int64] = []
        var stateLost: [Int64] = []
        for (key, last) in plan.lastSeqs where plan.events[key] != nil {
            stateApps.append(key.app)
            stateUsers.append(key.user)
            stateLast.append(last)
            stateLost.append(writes.lostThrough[key] ?? 0)
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
        for (key, event) in writes.inserted {
            let append = self.batch[event.request]
            let message = append.messages[event.message]
            let now = append.now.timeIntervalSince1970
            apps.append(key.app)
            users.append(key.user)
            seqs.append(event.seq)
            payloads.append(message.payload)
            collapseKeys.append(message.collapseKey ?? "")
            hasCollapseKey.append(message.collapseKey != nil)
            keeps.append(message.keepsDeadLetter)
            createdAt.append(now)
            expiresAt.append(now + message.ttl.timeInterval)
        }

        let removed = writes.removed
        var deadApps: [String] = []
        var deadUsers: [String] = []
        var deadSeqs: [Int64] = []
        var deadPayloads: [ByteBuffer] = []
        var deadCreated: [Double] = []
        var deadDied: [Double] = []
        var deadOrder: [Int64] = []
        for dead in writes.newDeadLetters {
            let append = self.batch[dead.event.request]
            deadApps.append(dead.key.app)
            deadUsers.append(dead.key.user)
            deadSeqs.append(dead.event.seq)
            deadPayloads.append(append.messages[dead.event.message].payload)
            deadCreated.append(append.now.timeIntervalSince1970)
            deadDied.append(dead.diedAt)
            deadOrder.append(dead.order)
        }

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
            inserted AS (
                INSERT INTO inbox_messages (app, user_id, seq, payload, collapse_key, keeps_dead_letter, created_at, expires_at)
                SELECT n.app, n.user_id, n.seq, n.payload, CASE WHEN n.has_key THEN n.collapse_key END,
                       n.keeps, n.created_at, n.expires_at
                FROM unnest(\(apps)::text[], \(users)::text[], \(seqs)::bigint[], \(payloads)::bytea[],
                            \(collapseKeys)::text[], \(hasCollapseKey)::bool[], \(keeps)::bool[],
                            \(createdAt)::float8[], \(expiresAt)::float8[])
                    AS n(app, user_id, seq, payload, collapse_key, has_key, keeps, created_at, expires_at)
            ),
            removed AS (
                DELETE FROM inbox_messages m
                USING unnest(\(removed.map(\.key.app))::text[], \(removed.map(\.key.user))::text[],
                             \(removed.map(\.seq))::bigint[], \(removed.map(\.dead))::bool[],
                             \(removed.map(\.diedAt))::float8[], \(removed.map(\.order))::bigint[])
                    AS r(app, user_id, seq, dead, died_at, ord)
                WHERE m.app = r.app AND m.user_id = r.user_id AND m.seq = r.seq
                RETURNING m.app, m.user_id, m.seq, m.payload, m.created_at, r.dead, r.died_at, r.ord
            ),
            dead AS (
                INSERT INTO dead_letters (app, user_id, seq, payload, reason, created_at, died_at)
                SELECT d.app, d.user_id, d.seq, d.payload, 'inbox_full', d.created_at, d.died_at
                FROM (
                    SELECT app, user_id, seq, payload, created_at, died_at, ord FROM removed WHERE dead
                    UNION ALL
                    SELECT * FROM unnest(\(deadApps)::text[], \(deadUsers)::text[], \(deadSeqs)::bigint[],
                                         \(deadPayloads)::bytea[], \(deadCreated)::float8[], \(deadDied)::float8[],
                                         \(deadOrder)::bigint[])
                ) d
                ORDER BY d.ord
            ),
            records AS (
                UPDATE idempotency_records r SET result = v.result::jsonb
                FROM unnest(\(records.map(\.app))::text[], \(records.map(\.key))::text[], \(records.map(\.result))::text[])
                    AS v(app, key, result)
                WHERE r.app = v.app AND r.key = v.key
            )
            SELECT count(*) FROM removed
            """
        )
    }
}
