/// What a token's `topics` claim allows: exact names, and prefixes written with a trailing `*`,
/// both matched by bytes, as topics are told apart everywhere (``ByteString``).
///
/// One word wide: every open session keeps its permissions, and most tokens carry no claim.
public struct TopicPermissions: Sendable, Hashable {
    /// The claim's patterns, split; shared by copies, immutable.
    private final class Rules: Sendable, Hashable {
        let exact: Set<ByteString>
        let prefixes: [ByteString]

        init(_ patterns: [String]) {
            self.exact = Set(patterns.filter { !$0.hasSuffix("*") }.map { ByteString($0) })
            self.prefixes = patterns.filter { $0.hasSuffix("*") }.map { ByteString(String($0.dropLast())) }
        }

        static func == (lhs: Rules, rhs: Rules) -> Bool {
            lhs === rhs || (lhs.exact == rhs.exact && lhs.prefixes == rhs.prefixes)
        }

        func hash(into hasher: inout Hasher) {
            hasher.combine(self.exact)
            hasher.combine(self.prefixes)
        }
    }

    /// `nil`: no `topics` claim.
    private let rules: Rules?

    public init(_ patterns: [String]?) {
        self.rules = patterns.map(Rules.init)
    }

    /// No `topics` claim: every topic is allowed.
    public var allowsAll: Bool { self.rules == nil }

    public func allows(_ topic: String) -> Bool {
        guard let rules = self.rules else { return true }
        return rules.exact.contains(ByteString(topic))
            || rules.prefixes.contains { topic.utf8.starts(with: $0.string.utf8) }
    }
}
