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
        )
    ]

    /// The newest schema version this build knows.
    static var latestVersion: Int { Self.all.last?.version ?? 0 }
}
