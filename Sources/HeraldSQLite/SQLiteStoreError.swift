/// Why the SQLite store could not be opened or prepared.
///
/// Each case carries a message meant for an operator: the CLI prints it and exits non-zero.
public enum SQLiteStoreError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The directory or the database file cannot be created, opened or written.
    case cannotOpen(path: String, reason: String)
    /// The file exists but is not an SQLite database, or is damaged.
    case notADatabase(path: String, reason: String)
    /// The database was written by a newer Herald whose schema this one does not know.
    case newerSchema(path: String, found: Int, supported: Int)
    /// A migration failed; the database was left at the version before it.
    case migrationFailed(path: String, version: Int, reason: String)
    /// The store was closed.
    case closed

    public var description: String {
        switch self {
        case .cannotOpen(let path, let reason):
            "cannot open the SQLite database at \(path): \(reason)"
        case .notADatabase(let path, let reason):
            "\(path) is not a usable SQLite database (\(reason)); move it away or restore a backup"
        case .newerSchema(let path, let found, let supported):
            "\(path) has schema version \(found), but this herald knows versions up to \(supported); upgrade herald"
        case .migrationFailed(let path, let version, let reason):
            "migration \(version) of \(path) failed: \(reason)"
        case .closed:
            "the SQLite store is closed"
        }
    }
}
