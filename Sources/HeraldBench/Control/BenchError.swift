/// A bench failure told as one plain sentence.
public struct BenchError: Error, CustomStringConvertible, Sendable {
    public var description: String

    /// Creates an error saying `description`.
    public init(_ description: String) {
        self.description = description
    }
}
