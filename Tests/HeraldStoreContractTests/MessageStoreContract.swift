import Testing

/// The one contract every ``MessageStore`` passes; each test runs once per ``StoreKind``.
///
/// Serialized: `purge` is global, so on a shared database (PostgreSQL) one test's purge
/// would otherwise remove another test's rows while it runs.
@Suite(.serialized)
enum MessageStoreContract {}
