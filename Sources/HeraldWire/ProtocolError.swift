/// A violation of the protocol, with the code the peer must be told.
public struct ProtocolError: Error, Sendable, Hashable, CustomStringConvertible {
    public var code: ErrorCode
    public var message: String

    public init(_ code: ErrorCode, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(self.code.rawValue): \(self.message)" }

    static func badFrame(_ message: String) -> ProtocolError { ProtocolError(.badFrame, message) }
}
