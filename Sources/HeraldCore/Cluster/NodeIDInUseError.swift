/// Another process holds the node's id: a node refuses to start, or stops, rather than share
/// it (docs/architecture.md, "One node per id").
public struct NodeIDInUseError: Error, Hashable, Sendable, CustomStringConvertible {
    /// When the other process was found.
    public enum Moment: Sendable, Hashable {
        /// At start: the lease of the id was renewed while this node waited for it to lapse.
        case atStart
        /// While serving: a renewal found the lease held by another process.
        case whileServing
    }

    /// The node id both processes were given.
    public var node: String
    public var moment: Moment

    public init(node: String, moment: Moment) {
        self.node = node
        self.moment = moment
    }

    public var description: String {
        switch self.moment {
        case .atStart:
            "Another running node holds the node id \"\(self.node)\": its lease was renewed while this node waited for "
                + "it to lapse, so this node does not start. Give each node an id of its own."
        case .whileServing:
            "Another node took the node id \"\(self.node)\" while this node was serving, so this node stopped rather "
                + "than share it. Give each node an id of its own."
        }
    }
}
