import HeraldCore
import NIOConcurrencyHelpers

/// A ``SessionDirectory`` in one process: a locked dictionary (tests, and a stand-in for a
/// shared directory).
public final class LocalSessionDirectory: SessionDirectory {
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
