/// One numbered step of Herald's PostgreSQL schema. Versions start at 1 and grow by one; a
/// migration, once released, is never edited: a change is a new migration.
struct PostgresMigration: Sendable {
    var version: Int
    var name: String
    /// Run in order, inside the migration transaction.
    var statements: [String]
}
