import HeraldCore
import NIOConcurrencyHelpers

/// A ``SessionDirectory`` in one process, for tests and single-node clusters: the same rules
/// as the Redis directory (one holder per device, a per-user order, unregister only by the
/// holder) behind a lock.
public final class InMemorySessionDirectory: SessionDirectory {
    /// By bytes, as every index of ids (``ByteString``).
    private struct UserKey: Hashable {
        var app: ByteString
        var user: ByteString
    }

    private struct User {
        /// The last order given; orders start again at 1 once the user has no sessions.
        var counter: UInt64 = 0
        var devices: [ByteString: SessionInfo] = [:]
    }

    private struct State {
        var users: [UserKey: User] = [:]
        /// Every session recorded for a node, holder or not (as the Redis node set).
        var byNode: [ByteString: Set<SessionInfo>] = [:]

        mutating func register(_ session: SessionInfo) -> SessionRegistration {
            let key = UserKey(app: ByteString(session.app), user: ByteString(session.user))
            var user = self.users[key] ?? User()
            // Registering the same session again keeps its place and displaces nobody.
            if let holder = user.devices[ByteString(session.device)], holder.id == session.id {
                self.byNode[ByteString(session.node), default: []].update(with: holder)
                return SessionRegistration(order: holder.order, displaced: nil)
            }
            user.counter += 1
            var registered = session
            registered.order = user.counter
            let previous = user.devices.updateValue(registered, forKey: ByteString(session.device))
            self.users[key] = user
            self.byNode[ByteString(session.node), default: []].update(with: registered)
            return SessionRegistration(order: registered.order, displaced: previous)
        }

        /// Removes `session` if it holds its device; true if it did.
        mutating func removeIfHolder(_ session: SessionInfo) -> Bool {
            let key = UserKey(app: ByteString(session.app), user: ByteString(session.user))
            let device = ByteString(session.device)
            guard var user = self.users[key], let holder = user.devices[device], holder.id == session.id else {
                return false
            }
            user.devices[device] = nil
            self.users[key] = user.devices.isEmpty ? nil : user
            return true
        }

        mutating func forget(_ session: SessionInfo) {
            let node = ByteString(session.node)
            self.byNode[node]?.remove(session)
            if self.byNode[node]?.isEmpty == true { self.byNode[node] = nil }
        }
    }

    private let state = NIOLockedValueBox(State())

    public init() {}

    public func register(_ sessions: [SessionInfo]) async throws -> [Result<SessionRegistration, any Error>] {
        self.state.withLockedValue { state in
            sessions.map { Result<SessionRegistration, any Error>.success(state.register($0)) }
        }
    }

    public func unregister(_ sessions: [SessionInfo]) async throws {
        self.state.withLockedValue { state in
            for session in sessions {
                _ = state.removeIfHolder(session)
                state.forget(session)
            }
        }
    }

    public func sessions(app: String, users: [String], liveNodes: Set<ByteString>) async throws -> [[SessionInfo]] {
        self.state.withLockedValue { state in
            users.map { user in
                let devices = state.users[UserKey(app: ByteString(app), user: ByteString(user))]?.devices ?? [:]
                return devices.values.filter { liveNodes.contains(ByteString($0.node)) }.sorted { $0.order < $1.order }
            }
        }
    }

    public func restore(node: String, sessions: [SessionInfo]) async throws {
        self.state.withLockedValue { state in
            let kept = Set(sessions)
            for stale in state.byNode[ByteString(node)] ?? [] where !kept.contains(stale) {
                _ = state.removeIfHolder(stale)
                state.forget(stale)
            }
            for session in sessions.sorted(by: { $0.order < $1.order }) {
                let key = UserKey(app: ByteString(session.app), user: ByteString(session.user))
                // A device another session took meanwhile stays with it; one this session
                // still holds keeps its order.
                if let holder = state.users[key]?.devices[ByteString(session.device)], holder.id != session.id { continue }
                _ = state.register(session)
            }
        }
    }

    public func removeSessions(ofNode node: String) async throws -> Int {
        self.state.withLockedValue { state in
            let sessions = state.byNode.removeValue(forKey: ByteString(node)) ?? []
            return sessions.reduce(0) { removed, session in removed + (state.removeIfHolder(session) ? 1 : 0) }
        }
    }
}
