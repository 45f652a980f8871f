/// Why ``PostgresStore`` could not be set up.
///
/// Each case carries a message meant for an operator: the CLI prints it and exits non-zero.
/// Failures to reach the database throw ``HeraldCore/MessageStoreError/unavailable(_:)``.
public enum PostgresStoreError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The connection URL cannot be used (the reason never repeats the URL: it may hold a password).
    case invalidURL(String)
    /// The database was migrated by a newer Herald whose schema this one does not know.
    case newerSchema(found: Int, supported: Int)
    /// A migration failed; none of the pending migrations was applied.
    case migrationFailed(version: Int, reason: String)

    public var description: String {
        switch self {
        case .invalidURL(let reason):
            "invalid PostgreSQL URL: \(reason)"
        case .newerSchema(let found, let supported):
            "the PostgreSQL schema is at version \(found), but this herald knows versions up to \(supported); upgrade herald"
        case .migrationFailed(let version, let reason):
            "PostgreSQL migration \(version) failed: \(reason)"
        }
    }
}
