/// One numbered step of the schema. Versions start at 1 and grow by one; a migration,
/// once released, is never edited: a change is a new migration.
struct SQLiteMigration: Sendable {
    var version: Int
    var name: String
    /// Run in order inside one transaction.
    var statements: [String]
}
