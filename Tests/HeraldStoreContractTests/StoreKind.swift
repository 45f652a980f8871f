import Testing

/// A ``MessageStore`` implementation the contract suite runs against.
enum StoreKind: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case memory
    case sqlite
    case postgres

    /// The kinds every contract test runs against (PostgreSQL: the server `scripts/test` starts).
    static var allCases: [StoreKind] { [.memory, .sqlite, .postgres] }

    /// Whether the store holds only this test's data, so that a global `purge` reports
    /// exactly this test's rows. Every PostgreSQL store of the suite has a schema of its own
    /// (see PostgresStoreFactory.swift).
    var isIsolated: Bool {
        switch self {
        case .memory, .sqlite, .postgres: true
        }
    }

    var testDescription: String { self.rawValue }
}
