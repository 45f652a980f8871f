/// Why a `herald` process could not be started or stopped as a test expected.
public struct HeraldProcessError: Error, CustomStringConvertible {
    public var message: String
    /// What the process wrote to stderr, for the test log.
    public var standardError: String

    public init(_ message: String, standardError: String = "") {
        self.message = message
        self.standardError = standardError
    }

    public var description: String {
        let tail = self.standardError.suffix(6_000)
        return tail.isEmpty ? self.message : "\(self.message)\n--- herald stderr (tail) ---\n\(tail)"
    }
}
