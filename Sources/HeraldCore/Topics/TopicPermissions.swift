/// What a token's `topics` claim allows: exact names, and prefixes written with a trailing `*`.
public struct TopicPermissions: Sendable, Hashable {
    private var exact: Set<String>
    private var prefixes: [String]
    /// No `topics` claim: every topic is allowed.
    public private(set) var allowsAll: Bool

    public init(_ patterns: [String]?) {
        guard let patterns else {
            self.exact = []
            self.prefixes = []
            self.allowsAll = true
            return
        }
        self.allowsAll = false
        self.exact = Set(patterns.filter { !$0.hasSuffix("*") })
        self.prefixes = patterns.filter { $0.hasSuffix("*") }.map { String($0.dropLast()) }
    }

    public func allows(_ topic: String) -> Bool {
        self.allowsAll || self.exact.contains(topic) || self.prefixes.contains { topic.hasPrefix($0) }
    }
}
