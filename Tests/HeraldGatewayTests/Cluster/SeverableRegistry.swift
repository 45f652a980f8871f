import HeraldCore
import HeraldTesting
import NIOConcurrencyHelpers

/// A registry that can be cut off, as Redis can.
final class SeverableRegistry: NodeRegistry {
    let registry = InMemoryNodeRegistry()
    private let severed = NIOLockedValueBox(false)

    struct Severed: Error {}

    func sever(_ value: Bool) {
        self.severed.withLockedValue { $0 = value }
    }

    private func check() throws {
        if self.severed.withLockedValue({ $0 }) { throw Severed() }
    }

    func renew(_ lease: NodeLease, ttl: Duration) async throws -> NodeRenewal {
        try self.check()
        return try await self.registry.renew(lease, ttl: ttl)
    }

    func liveNodes() async throws -> [NodeLease] {
        try self.check()
        return try await self.registry.liveNodes()
    }

    func withdraw(node: String, incarnation: String?) async throws {
        try self.check()
        try await self.registry.withdraw(node: node, incarnation: incarnation)
    }

    func recordLoad(node: String, apps: [String: SessionCounts]) async throws {
        try self.check()
        try await self.registry.recordLoad(node: node, apps: apps)
    }

    func load(app: String) async throws -> [String: SessionCounts] {
        try self.check()
        return try await self.registry.load(app: app)
    }
}
