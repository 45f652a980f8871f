/// Redis answered a cluster-state command with something the state's layout cannot hold:
/// another program wrote the keys, or a script is out of date.
public struct RedisClusterStateError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What was being done, as a phrase ("registering a session").
    public var operation: String

    public init(operation: String) {
        self.operation = operation
    }

    public var description: String {
        "Redis gave an unexpected answer while \(self.operation)."
    }
}
