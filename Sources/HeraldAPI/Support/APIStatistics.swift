import NIOConcurrencyHelpers

/// Per-app message counts since this process started, for `/v1/apps/{app}/stats`.
final class APIStatistics: Sendable {
    struct Counts: Sendable, Hashable, Codable {
        /// Messages the API accepted (user messages, broadcasts, topic messages).
        var accepted: Int = 0
        /// Session writes those messages reached.
        var delivered: Int = 0
    }

    private let counts = NIOLockedValueBox<[String: Counts]>([:])

    func record(app: String, accepted: Int, delivered: Int) {
        self.counts.withLockedValue { counts in
            counts[app, default: Counts()].accepted += accepted
            counts[app, default: Counts()].delivered += delivered
        }
    }

    func counts(app: String) -> Counts {
        self.counts.withLockedValue { $0[app] ?? Counts() }
    }
}
