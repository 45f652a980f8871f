import HeraldCore
import HeraldTesting
import NIOConcurrencyHelpers

/// An in-memory catalog whose `list()` can be held, as a store that is slow to answer.
final class GatedCatalog: AppCatalog {
    private struct Gate {
        var isClosed = false
        var held = 0
    }

    private let catalog = InMemoryAppCatalog()
    private let gate = NIOLockedValueBox(Gate())

    /// Holds every `list()` from now until ``open()``.
    func close() {
        self.gate.withLockedValue { $0.isClosed = true }
    }

    /// Lets the held and later `list()` calls answer.
    func open() {
        self.gate.withLockedValue { $0.isClosed = false }
    }

    /// How many `list()` calls are held.
    var held: Int {
        self.gate.withLockedValue { $0.held }
    }

    func create(_ app: App) async throws {
        try await self.catalog.create(app)
    }

    func app(id: String) async throws -> App? {
        try await self.catalog.app(id: id)
    }

    /// Waits while the gate is closed; a cancelled caller stops waiting (with an error), so a
    /// test that fails before it opens the gate still ends.
    func list() async throws -> [App] {
        guard self.gate.withLockedValue({ $0.isClosed }) else { return try await self.catalog.list() }
        self.gate.withLockedValue { $0.held += 1 }
        defer { self.gate.withLockedValue { $0.held -= 1 } }
        while self.gate.withLockedValue({ $0.isClosed }) {
            try await Task.sleep(for: .milliseconds(5))
        }
        return try await self.catalog.list()
    }

    func addSigningKey(_ key: SigningKey, app: String) async throws -> App? {
        try await self.catalog.addSigningKey(key, app: app)
    }

    func removeSigningKey(id: String, app: String) async throws -> App? {
        try await self.catalog.removeSigningKey(id: id, app: app)
    }
}
