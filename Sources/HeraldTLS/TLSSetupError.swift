/// Why a TLS context could not be made from a certificate and a key.
public struct TLSSetupError: Error, Sendable, CustomStringConvertible {
    /// A sentence that says what is wrong.
    public var message: String

    /// Creates an error.
    public init(_ message: String) {
        self.message = message
    }

    public var description: String { self.message }
}
