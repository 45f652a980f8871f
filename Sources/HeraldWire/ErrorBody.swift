/// The body of ERROR. `code` is kept as text so that a client can read codes it does not know.
public struct ErrorBody: Codable, Sendable, Hashable {
    public var code: String
    public var message: String

    public init(code: String, message: String) {
        self.code = code
        self.message = message
    }

    public init(_ code: ErrorCode, _ message: String) {
        self.init(code: code.rawValue, message: message)
    }

    public init(_ error: ProtocolError) {
        self.init(error.code, error.message)
    }

    /// The code, if it is one this implementation knows.
    public var errorCode: ErrorCode? { ErrorCode(rawValue: self.code) }
}
