/// The body of SUBSCRIBE and UNSUBSCRIBE.
public struct TopicsRequest: Codable, Sendable, Hashable {
    public var session: UInt16
    public var topics: [String]

    public init(session: UInt16, topics: [String]) {
        self.session = session
        self.topics = topics
    }
}
