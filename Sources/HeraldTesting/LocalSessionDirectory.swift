import HeraldCore
import NIOConcurrencyHelpers

/// A ``SessionDirectory`` in one process: a locked dictionary (tests, and a stand-in for a
/// shared directory).
public final class LocalSessionDirectory: SessionDirectory {
    private struct UserKey: Hashable {
        var app: String
        var user: String
    }

    private struct State {
        var byUser: [UserKey: [SessionInfo]] = [:]
        var sessionsPerApp: [String: Int] = [:]
        var usersPerApp: [String: Int] = [:]
    }

    private let state = NIOLockedValueBox(State())

    public init() {}

    public func register(_ session: SessionInfo) {
        let key = UserKey(app: session.app, user: session.user)
        self.state.withLockedValue { state in
            if state.byUser[key, default: []].isEmpty {
                state.usersPerApp[session.app, default: 0] += 1
            }
            state.byUser[key, default: []].append(session)
            state.sessionsPerApp[session.app, default: 0] += 1
        }
    }

    public func unregister(_ session: SessionInfo) {
        let key = UserKey(app: session.app, user: session.user)
        self.state.withLockedValue { state in
            guard var sessions = state.byUser[key], let index = sessions.firstIndex(of: session) else { return }
            sessions.remove(at: index)
            state.sessionsPerApp[session.app, default: 1] -= 1
            if sessions.isEmpty {
                state.byUser[key] = nil
                state.usersPerApp[session.app, default: 1] -= 1
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
            SessionCounts(sessions: $0.sessionsPerApp[app] ?? 0, users: $0.usersPerApp[app] ?? 0)
        }
    }
}
