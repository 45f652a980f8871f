import HeraldCore
import HeraldWire
import NIOConcurrencyHelpers
import NIOCore

/// A ``ClusterGateway`` without clients that remembers the sessions it was told to end.
final class RecordingClusterGateway: ClusterGateway {
    let nodeID: String
    private let ended = NIOLockedValueBox<[SessionID]>([])

    init(nodeID: String) {
        self.nodeID = nodeID
    }

    /// The sessions ``endSession(_:reason:)`` was asked to end, in order.
    var endedSessions: [SessionID] {
        self.ended.withLockedValue { $0 }
    }

    var clientCounts: (connections: Int, sessions: Int) { (0, 0) }

    func endSession(_ id: SessionID, reason: GoAwayReason) async -> Bool {
        self.ended.withLockedValue { $0.append(id) }
        return true
    }

    func localSessions() async -> [SessionInfo] { [] }
    func appCounts() async -> [String: SessionCounts] { [:] }
    func drainClients() async {}
    func serveClients() {}
    func sendToUsers(app: String, users: [String], payload: ByteBuffer) async -> Int { 0 }
    func sendStored(app: String, deliveries: [UserSequence], payload: ByteBuffer) async -> Int { 0 }
    func broadcast(app: String, seq: UInt32, payload: ByteBuffer) async -> Int { 0 }
    func publish(app: String, topic: String, payload: ByteBuffer) async -> Int { 0 }
    func kick(app: String, user: String, device: String?) async -> Int { 0 }
    func sessions(app: String, user: String) async throws -> [SessionInfo] { [] }
    func counts(app: String) async throws -> SessionCounts { SessionCounts(sessions: 0, users: 0) }
}
