/// Why an HTTP request of the bench failed without an answer.
public struct BenchHTTPError: Error, Sendable, Hashable, CustomStringConvertible {
    public var message: String

    public init(_ message: String) {
        self.message = message
    }

    public var description: String { self.message }
}
