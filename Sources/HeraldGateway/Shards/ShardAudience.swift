import NIOConcurrencyHelpers

/// How many sessions of each app, and subscribers of each topic, one shard has: kept by the
/// shard's loop as its indexes change, read by the API on its own threads, so that a
/// broadcast or topic message can say how many sessions it was queued for without waiting
/// for the loop.
final class ShardAudience: Sendable {
    private struct Counts {
        var apps: [String: Int] = [:]
        var topics: [EventLoopShard.TopicKey: Int] = [:]
    }

    private let counts = NIOLockedValueBox(Counts())

    /// The app's sessions, open or opening.
    func sessions(app: String) -> Int {
        self.counts.withLockedValue { $0.apps[app] ?? 0 }
    }

    /// The topic's subscribed sessions.
    func subscribers(_ topic: EventLoopShard.TopicKey) -> Int {
        self.counts.withLockedValue { $0.topics[topic] ?? 0 }
    }

    func sessionAdded(app: String) {
        self.counts.withLockedValue { $0.apps[app, default: 0] += 1 }
    }

    func sessionRemoved(app: String) {
        self.counts.withLockedValue { counts in
            let remaining = (counts.apps[app] ?? 0) - 1
            counts.apps[app] = remaining > 0 ? remaining : nil
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
