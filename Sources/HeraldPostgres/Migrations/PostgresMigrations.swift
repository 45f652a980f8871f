/// Every migration of Herald's PostgreSQL schema, in order.
///
/// Times are `double precision` seconds since 1970, as the callers' `now` (never the
/// server's clock: every node and test passes its own). Sequences are `bigint` and checked
/// against `UInt32.max` in Swift, so that exhaustion is an error the caller sees, not a wrap.
/// No foreign keys to `apps`: the MessageStore contract does not require the app to be in
/// the same catalog.
enum PostgresMigrations {
    static let all: [PostgresMigration] = [
        PostgresMigration(
            version: 1,
            name: "apps",
            statements: [
                """
                CREATE TABLE apps (
                    id text PRIMARY KEY,
                    secret text NOT NULL,
                    webhook text,
                    epoch text NOT NULL,
                    created_at double precision NOT NULL,
                    policy jsonb NOT NULL
                )
                """
            ]
        ),
        PostgresMigration(
            version: 2,
            name: "inboxes, broadcast log, dead letters, idempotency records",
            statements: [
                // One row per (app, user) ever sent to: the sequence and the lost watermark.
                // Every writer locks it first, so it also serialises writers of one inbox.
                """
                CREATE TABLE inbox_state (
                    app text NOT NULL,
                    user_id text NOT NULL,
                    last_seq bigint NOT NULL DEFAULT 0 CHECK (last_seq >= 0),
                    lost_through bigint NOT NULL DEFAULT 0 CHECK (lost_through >= 0),
                    PRIMARY KEY (app, user_id)
                )
                """,
                """
                CREATE TABLE inbox_messages (
                    app text NOT NULL,
                    user_id text NOT NULL,
                    seq bigint NOT NULL,
                    payload bytea NOT NULL,
                    collapse_key text,
                    keeps_dead_letter boolean NOT NULL,
                    created_at double precision NOT NULL,
                    expires_at double precision NOT NULL,
                    PRIMARY KEY (app, user_id, seq)
                )
                """,
                "CREATE INDEX inbox_messages_expires_at ON inbox_messages (expires_at)",
                """
                CREATE INDEX inbox_messages_collapse_key ON inbox_messages (app, user_id, collapse_key)
                    WHERE collapse_key IS NOT NULL
                """,
                """
                CREATE TABLE inbox_cursors (
                    app text NOT NULL,
                    user_id text NOT NULL,
                    device text NOT NULL,
                    seq bigint NOT NULL CHECK (seq >= 0),
                    PRIMARY KEY (app, user_id, device)
                )
                """,
                """
                CREATE TABLE broadcast_state (
                    app text PRIMARY KEY,
                    last_seq bigint NOT NULL CHECK (last_seq >= 0),
                    trimmed_through bigint NOT NULL DEFAULT 0 CHECK (trimmed_through >= 0)
                )
                """,
                """
                CREATE TABLE broadcasts (
                    app text NOT NULL,
                    seq bigint NOT NULL,
                    payload bytea NOT NULL,
                    expires_at double precision NOT NULL,
                    PRIMARY KEY (app, seq)
                )
                """,
                "CREATE INDEX broadcasts_expires_at ON broadcasts (expires_at)",
                """
                CREATE TABLE dead_letters (
                    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                    app text NOT NULL,
                    user_id text NOT NULL,
                    seq bigint NOT NULL,
                    payload bytea NOT NULL,
                    reason text NOT NULL CHECK (reason IN ('expired', 'inbox_full')),
                    created_at double precision NOT NULL,
                    died_at double precision NOT NULL
                )
                """,
                "CREATE INDEX dead_letters_app_id ON dead_letters (app, id)",
                // `result` is NULL only inside the transaction that claimed the key.
                """
                CREATE TABLE idempotency_records (
                    app text NOT NULL,
                    key text NOT NULL,
                    fingerprint text NOT NULL,
                    result jsonb,
                    created_at double precision NOT NULL,
                    PRIMARY KEY (app, key)
                )
                """,
                "CREATE INDEX idempotency_records_created_at ON idempotency_records (created_at)",
            ]
        ),
        PostgresMigration(
            version: 3,
            name: "token signing keys of apps",
            statements: [
                "ALTER TABLE apps ADD COLUMN signing_keys jsonb NOT NULL DEFAULT '[]'::jsonb"
            ]
        ),
        // A broadcast appended in one round trip instead of a transaction of five. The
        // function is VOLATILE, so each of its statements takes a fresh snapshot: the trim,
        // which runs after the upsert has waited for the app's row lock, sees the rows that
        // other nodes committed meanwhile, as the transaction's statements did. Past the
        // 32-bit sequence space it raises HB001 and the whole call rolls back.
        PostgresMigration(
            version: 4,
            name: "broadcasts appended in one call",
            statements: [
                """
                CREATE FUNCTION herald_append_broadcast(
                    p_app text, p_payload bytea, p_expires_at double precision, p_keep bigint
                ) RETURNS bigint LANGUAGE plpgsql VOLATILE AS $$
                DECLARE
                    new_seq bigint;
                BEGIN
                    INSERT INTO broadcast_state (app, last_seq) VALUES (p_app, 1)
                    ON CONFLICT (app) DO UPDATE SET last_seq = broadcast_state.last_seq + 1
                    RETURNING last_seq INTO new_seq;
                    IF new_seq > 4294967295 THEN
                        RAISE EXCEPTION 'the broadcast sequence of app % is exhausted', p_app
                            USING ERRCODE = 'HB001';
                    END IF;
                    IF p_keep > 0 THEN
                        INSERT INTO broadcasts (app, seq, payload, expires_at)
                        VALUES (p_app, new_seq, p_payload, p_expires_at);
                    END IF;
                    -- Keeps the newest p_keep; with 0 nothing stays and the new one counts as trimmed.
                    WITH gone AS (
                        DELETE FROM broadcasts b
                        WHERE b.app = p_app AND b.seq <= COALESCE(
                            (SELECT x.seq FROM broadcasts x WHERE x.app = p_app ORDER BY x.seq DESC
                             OFFSET p_keep LIMIT 1), -1)
                        RETURNING b.seq
                    )
                    UPDATE broadcast_state
                    SET trimmed_through = GREATEST(trimmed_through, (SELECT max(seq) FROM gone),
                                                   CASE WHEN p_keep = 0 THEN last_seq END)
                    WHERE app = p_app;
                    RETURN new_seq;
                END
                $$
                """
            ]
        ),
    ]

    /// The newest schema version this build knows.
    static var latestVersion: Int { Self.all.last?.version ?? 0 }
}
