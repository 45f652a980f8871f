import HeraldCore
import Testing

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The one contract every implementation of the cluster ports passes; each test runs once
/// per ``ClusterStateKind``, each in a namespace of its own.
///
/// Serialized: one test restarts the single Redis, which would fail another's commands.
@Suite(.serialized)
enum ClusterStateContract {
    static let app = "app"

    /// A session of `user`'s `device` on `node`; `connection` tells sessions apart.
    static func session(
        user: String = "alice", device: String = "phone", node: String = "node-a", connection: UInt64 = 1,
        app: String = ClusterStateContract.app
    ) -> SessionInfo {
        SessionInfo(
            app: app, user: user, device: device,
            id: SessionID(node: node, connection: connection, number: 1, generation: connection * 10),
            // Sub-millisecond digits that a shared directory rounds away.
            since: Date(timeIntervalSince1970: 1_780_000_000.123_4 + Double(connection)))
    }

    /// A lease of `node` written by the process `incarnation`, at its `renewal`th writing.
    static func lease(_ node: String, sessions: Int = 0, incarnation: String = "first", renewal: UInt64 = 1) -> NodeLease {
        NodeLease(
            node: node, roles: .all, state: .ready, tcpEndpoint: "127.0.0.1:7000", webSocketEndpoint: "ws://127.0.0.1:7001/ws",
            maxConnections: 1_000, connections: sessions, sessions: sessions, cpu: 0.25,
            startedAt: Date(millisecondsSince1970: 1_780_000_000_000), incarnation: incarnation, renewal: renewal)
    }

    /// Polls `condition` until it holds, for at most `seconds`: "eventually within a bound",
    /// never a timing assertion.
    static func eventually(within seconds: Int, _ condition: () async throws -> Bool) async throws -> Bool {
        let deadline = ContinuousClock.now + .seconds(seconds)
        while ContinuousClock.now < deadline {
            if try await condition() { return true }
            try await Task.sleep(for: .milliseconds(50))
        }
        return try await condition()
    }
}
