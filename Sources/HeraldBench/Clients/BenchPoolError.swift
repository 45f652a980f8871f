/// Why a ``BenchClientPool`` cannot run its plan.
public struct BenchPoolError: Error, Sendable, Hashable, CustomStringConvertible {
    public var message: String

    public init(_ message: String) {
        self.message = message
    }

    public var description: String { self.message }
}
