import HeraldCore
import NIOConcurrencyHelpers

/// Who is online, in one process: a locked dictionary that observes a gateway's sessions
/// and answers ``SessionLookup`` for an API under test.
public final class LocalSessionDirectory: SessionObserver, SessionLookup {
    /// By bytes, as every index of ids (``ByteString``).
    private struct UserKey: Hashable {
        var app: ByteString
        var user: ByteString

        init(app: String, user: String) {
            self.app = ByteString(app)
            self.user = ByteString(user)
        }
    }

    private struct State {
        var byUser: [UserKey: [SessionInfo]] = [:]
        var sessionsPerApp: [ByteString: Int] = [:]
        var usersPerApp: [ByteString: Int] = [:]
    }

    private let state = NIOLockedValueBox(State())

    public init() {}

    public func sessionOpened(_ session: SessionInfo) {
        self.register(session)
    }

    public func sessionClosed(_ session: SessionInfo) {
        self.unregister(session)
    }

    /// Records an online session.
    public func register(_ session: SessionInfo) {
        let key = UserKey(app: session.app, user: session.user)
        self.state.withLockedValue { state in
            if state.byUser[key, default: []].isEmpty {
                state.usersPerApp[key.app, default: 0] += 1
            }
            state.byUser[key, default: []].append(session)
            state.sessionsPerApp[key.app, default: 0] += 1
        }
    }

    /// Forgets a session.
    public func unregister(_ session: SessionInfo) {
        let key = UserKey(app: session.app, user: session.user)
        self.state.withLockedValue { state in
            guard var sessions = state.byUser[key], let index = sessions.firstIndex(of: session) else { return }
            sessions.remove(at: index)
            state.sessionsPerApp[key.app, default: 1] -= 1
            if sessions.isEmpty {
                state.byUser[key] = nil
                state.usersPerApp[key.app, default: 1] -= 1
            } else {
                state.byUser[key] = sessions
            }
        }
    }

    public func sessions(app: String, user: String) async throws -> [SessionInfo] {
        self.state.withLockedValue { $0.byUser[UserKey(app: app, user: user)] ?? [] }
    }

    public func counts(app: String) async throws -> SessionCounts {
        self.state.withLockedValue {
            SessionCounts(
                sessions: $0.sessionsPerApp[ByteString(app)] ?? 0,
                users: $0.usersPerApp[ByteString(app)] ?? 0
            )
        }
    }
}
