import HeraldCore

extension ConnectionStateMachine {
    /// What a SUBSCRIBE would add to a session.
    struct NewTopics: Sendable {
        enum Result: Sendable, Hashable {
            /// The topics the session does not hold yet, in request order, each once.
            case within([ByteString])
            /// One more would pass the session's subscription limit.
            case overLimit
        }

        var result: Result
        /// How many of the request's topics were looked at: the scan stops at the first new
        /// topic past the allowance.
        var examined: Int
    }

    /// The topics of a SUBSCRIBE that `session` does not hold yet. Repeats are found with a
    /// set and the scan ends at the first new topic past the session's remaining allowance,
    /// so a frame full of topics costs one hash each at most, on the event loop, never a
    /// comparison of every pair.
    static func newTopics(_ topics: [String], of session: Session, limit: Int) -> NewTopics {
        let allowance = max(0, limit - session.subscriptions.count)
        var added: [ByteString] = []
        var seen = Set<ByteString>()
        var examined = 0
        for topic in topics {
            examined += 1
            let key = ByteString(topic)
            guard !session.subscriptions.contains(key), seen.insert(key).inserted else { continue }
            guard added.count < allowance else { return NewTopics(result: .overLimit, examined: examined) }
            added.append(key)
        }
        return NewTopics(result: .within(added), examined: examined)
    }
}
