/// Every migration of Herald's SQLite schema, in order.
enum SQLiteMigrations {
    static let all: [SQLiteMigration] = [
        SQLiteMigration(
            version: 1,
            name: "apps and broadcast sequences",
            statements: [
                """
                CREATE TABLE apps (
                    id TEXT PRIMARY KEY NOT NULL,
                    secret TEXT NOT NULL,
                    webhook TEXT,
                    epoch TEXT NOT NULL,
                    created_at REAL NOT NULL
                ) STRICT
                """,
                // No foreign key to apps: the MessageStore contract does not require the app
                // to be in the same catalog (the in-memory store has no catalog at all).
                """
                CREATE TABLE broadcast_sequences (
                    app TEXT PRIMARY KEY NOT NULL,
                    seq INTEGER NOT NULL CHECK (seq >= 0)
                ) STRICT
                """,
            ]
        ),
        SQLiteMigration(
            version: 2,
            name: "durable delivery: inboxes, cursors, broadcast log, dead letters, idempotency, app policies",
            statements: [
                // Existing apps get the default policy of this release, spelled out so that a
                // later change of the defaults does not silently change them.
                """
                ALTER TABLE apps ADD COLUMN policy TEXT NOT NULL DEFAULT '{"broadcastLimit":1000,"broadcastTTL":3600,\
                "deadLetters":"keep","defaultTTL":604800,"inboxLimit":1000,"maxTTL":2419200}'
                """,
                // One row per (app, user) ever sent to: the sequence lives here, not in the
                // messages, so purging or collapsing never frees a sequence.
                """
                CREATE TABLE inbox_state (
                    app TEXT NOT NULL,
                    user_id TEXT NOT NULL,
                    last_seq INTEGER NOT NULL CHECK (last_seq >= 0),
                    lost_through INTEGER NOT NULL DEFAULT 0 CHECK (lost_through >= 0),
                    PRIMARY KEY (app, user_id)
                ) STRICT, WITHOUT ROWID
                """,
                // The primary key serves the hot reads: a user's inbox in sequence order.
                """
                CREATE TABLE inbox_messages (
                    app TEXT NOT NULL,
                    user_id TEXT NOT NULL,
                    seq INTEGER NOT NULL,
                    payload BLOB NOT NULL,
                    expires_at REAL NOT NULL,
                    created_at REAL NOT NULL,
                    collapse_key TEXT,
                    keeps_dead_letter INTEGER NOT NULL,
                    PRIMARY KEY (app, user_id, seq)
                ) STRICT
                """,
                "CREATE INDEX inbox_messages_expiry ON inbox_messages (expires_at)",
                """
                CREATE INDEX inbox_messages_collapse ON inbox_messages (app, user_id, collapse_key)
                WHERE collapse_key IS NOT NULL
                """,
                """
                CREATE TABLE inbox_cursors (
                    app TEXT NOT NULL,
                    user_id TEXT NOT NULL,
                    device TEXT NOT NULL,
                    seq INTEGER NOT NULL CHECK (seq >= 0),
                    PRIMARY KEY (app, user_id, device)
                ) STRICT, WITHOUT ROWID
                """,
                """
                CREATE TABLE broadcast_state (
                    app TEXT PRIMARY KEY NOT NULL,
                    seq INTEGER NOT NULL CHECK (seq >= 0),
                    trimmed_through INTEGER NOT NULL DEFAULT 0 CHECK (trimmed_through >= 0)
                ) STRICT, WITHOUT ROWID
                """,
                // Broadcasts sent before this migration were never kept: they all count as trimmed.
                """
                INSERT INTO broadcast_state (app, seq, trimmed_through)
                SELECT app, seq, seq FROM broadcast_sequences
                """,
                "DROP TABLE broadcast_sequences",
                """
                CREATE TABLE broadcast_log (
                    app TEXT NOT NULL,
                    seq INTEGER NOT NULL,
                    payload BLOB NOT NULL,
                    expires_at REAL NOT NULL,
                    PRIMARY KEY (app, seq)
                ) STRICT
                """,
                "CREATE INDEX broadcast_log_expiry ON broadcast_log (expires_at)",
                // AUTOINCREMENT: ids are never reused, so a page cursor stays valid after a trim.
                """
                CREATE TABLE dead_letters (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    app TEXT NOT NULL,
                    user_id TEXT NOT NULL,
                    seq INTEGER NOT NULL,
                    payload BLOB NOT NULL,
                    reason TEXT NOT NULL,
                    created_at REAL NOT NULL,
                    died_at REAL NOT NULL
                ) STRICT
                """,
                "CREATE INDEX dead_letters_app ON dead_letters (app, id)",
                """
                CREATE TABLE idempotency_keys (
                    app TEXT NOT NULL,
                    key TEXT NOT NULL,
                    fingerprint TEXT NOT NULL,
                    result TEXT NOT NULL,
                    created_at REAL NOT NULL,
                    PRIMARY KEY (app, key)
                ) STRICT
                """,
                "CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at)",
            ]
        ),
        SQLiteMigration(
            version: 3,
            name: "tables and indexes named as in PostgreSQL",
            statements: [
                // RENAME keeps the rows; SQLite has no ALTER INDEX, so indexes are made again.
                "ALTER TABLE broadcast_log RENAME TO broadcasts",
                "DROP INDEX broadcast_log_expiry",
                "CREATE INDEX broadcasts_expires_at ON broadcasts (expires_at)",
                "ALTER TABLE idempotency_keys RENAME TO idempotency_records",
                "DROP INDEX idempotency_keys_created",
                "CREATE INDEX idempotency_records_created_at ON idempotency_records (created_at)",
                "DROP INDEX inbox_messages_expiry",
                "CREATE INDEX inbox_messages_expires_at ON inbox_messages (expires_at)",
                "DROP INDEX inbox_messages_collapse",
                """
                CREATE INDEX inbox_messages_collapse_key ON inbox_messages (app, user_id, collapse_key)
                WHERE collapse_key IS NOT NULL
                """,
                "DROP INDEX dead_letters_app",
                "CREATE INDEX dead_letters_app_id ON dead_letters (app, id)",
            ]
        ),
        SQLiteMigration(
            version: 4,
            name: "token signing keys of apps",
            statements: [
                "ALTER TABLE apps ADD COLUMN signing_keys TEXT NOT NULL DEFAULT '[]'"
            ]
        ),
        SQLiteMigration(
            version: 5,
            name: "a broadcast appended in one statement",
            statements: [
                // How many broadcasts the app keeps, as of this one: the trigger trims by it.
                "ALTER TABLE broadcasts ADD COLUMN keep INTEGER NOT NULL DEFAULT 0 CHECK (keep >= 0)",
                // The sequence and the trim follow every append, in the appending statement
                // itself: one trip to SQLite's thread pool where a transaction took seven. The
                // log keeps the newest `keep` rows; `trimmed_through` moves to the highest that
                // leaves (with keep 0 that is the new row itself).
                """
                CREATE TRIGGER broadcasts_appended AFTER INSERT ON broadcasts
                BEGIN
                    INSERT INTO broadcast_state (app, seq, trimmed_through)
                    VALUES (NEW.app, NEW.seq, COALESCE((
                        SELECT seq FROM broadcasts WHERE app = NEW.app ORDER BY seq DESC LIMIT 1 OFFSET NEW.keep), 0))
                    ON CONFLICT (app) DO UPDATE SET
                        seq = excluded.seq,
                        trimmed_through = MAX(trimmed_through, excluded.trimmed_through);
                    DELETE FROM broadcasts WHERE app = NEW.app AND seq <= COALESCE((
                        SELECT seq FROM broadcasts WHERE app = NEW.app ORDER BY seq DESC LIMIT 1 OFFSET NEW.keep), 0);
                END
                """,
            ]
        ),
    ]

    /// The newest schema version this build knows.
    static var latestVersion: Int { Self.all.last?.version ?? 0 }
}
