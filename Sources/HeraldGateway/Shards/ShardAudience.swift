import HeraldCore
import NIOConcurrencyHelpers

/// How many sessions of each app and each user, and subscribers of each topic, one shard has:
/// kept by the shard's loop as its indexes change, read by the API on its own threads, so that
/// a message can say how many sessions it was handed to without waiting for the loop.
final class ShardAudience: Sendable {
    private struct UserKey: Hashable {
        var app: String
        var user: String
    }

    private struct Counts {
        var apps: [String: Int] = [:]
        var users: [UserKey: Int] = [:]
        var topics: [EventLoopShard.TopicKey: Int] = [:]
    }

    private let counts = NIOLockedValueBox(Counts())

    /// The app's sessions, open or opening.
    func sessions(app: String) -> Int {
        self.counts.withLockedValue { $0.apps[app] ?? 0 }
    }

    /// The sessions of the users (each user counted once, however often listed).
    func sessions(app: String, users: some Sequence<String>) -> Int {
        self.counts.withLockedValue { counts in
            guard !counts.users.isEmpty else { return 0 }
            var seen = Set<String>()
            var total = 0
            for user in users where seen.insert(user).inserted {
                total += counts.users[UserKey(app: app, user: user)] ?? 0
            }
            return total
        }
    }

    /// The sessions of each user, for stored messages (each entry counted as given).
    func sessions(app: String, deliveries: [UserSequence]) -> Int {
        self.counts.withLockedValue { counts in
            deliveries.reduce(0) { $0 + (counts.users[UserKey(app: app, user: $1.user)] ?? 0) }
        }
    }

    /// The topic's subscribed sessions.
    func subscribers(_ topic: EventLoopShard.TopicKey) -> Int {
        self.counts.withLockedValue { $0.topics[topic] ?? 0 }
    }

    func sessionAdded(app: String, user: String) {
        self.counts.withLockedValue { counts in
            counts.apps[app, default: 0] += 1
            counts.users[UserKey(app: app, user: user), default: 0] += 1
        }
    }

    func sessionRemoved(app: String, user: String) {
        self.counts.withLockedValue { counts in
            let remaining = (counts.apps[app] ?? 0) - 1
            counts.apps[app] = remaining > 0 ? remaining : nil
            let key = UserKey(app: app, user: user)
            let left = (counts.users[key] ?? 0) - 1
            counts.users[key] = left > 0 ? left : nil
        }
    }

    func subscribed(_ topic: EventLoopShard.TopicKey) {
        self.counts.withLockedValue { $0.topics[topic, default: 0] += 1 }
    }

    func unsubscribed(_ topic: EventLoopShard.TopicKey) {
        self.counts.withLockedValue { counts in
            let remaining = (counts.topics[topic] ?? 0) - 1
            counts.topics[topic] = remaining > 0 ? remaining : nil
        }
    }
}
