/// An error the command line reports as one plain sentence.
public struct CLIError: Error, CustomStringConvertible {
    public var description: String

    /// An error that reads `description` to the user.
    public init(_ description: String) {
        self.description = description
    }
}
