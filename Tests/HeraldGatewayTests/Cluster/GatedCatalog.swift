import HeraldCore
import HeraldTesting
import NIOConcurrencyHelpers

/// An in-memory catalog whose `list()` can be held, as a store that is slow to answer.
final class GatedCatalog: AppCatalog {
    private struct Gate {
        var isClosed = false
        var waiting: [CheckedContinuation<Void, Never>] = []
    }

    private let catalog = InMemoryAppCatalog()
    private let gate = NIOLockedValueBox(Gate())

    /// Holds every `list()` from now until ``open()``.
    func close() {
        self.gate.withLockedValue { $0.isClosed = true }
    }

    /// Lets the held and later `list()` calls answer.
    func open() {
        let waiting = self.gate.withLockedValue { gate in
            gate.isClosed = false
            defer { gate.waiting = [] }
            return gate.waiting
        }
        for continuation in waiting { continuation.resume() }
    }

    /// How many `list()` calls are held.
    var held: Int {
        self.gate.withLockedValue { $0.waiting.count }
    }

    func create(_ app: App) async throws {
        try await self.catalog.create(app)
    }

    func app(id: String) async throws -> App? {
        try await self.catalog.app(id: id)
    }

    func list() async throws -> [App] {
        await withCheckedContinuation { continuation in
            let wait = self.gate.withLockedValue { gate in
                if gate.isClosed { gate.waiting.append(continuation) }
                return gate.isClosed
            }
            if !wait { continuation.resume() }
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
