/// Why bytes from the bus are not a ``BusMessage``.
public enum BusMessageCodecError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The message was written by an encoding this node does not know.
    case unsupportedVersion(UInt8)
    /// The message names a kind of body this node does not know.
    case unknownKind(UInt8)
    /// The bytes end before the named field does.
    case truncated(field: String)
    /// A length or count is larger than the codec allows.
    case tooLarge(field: String, length: Int, limit: Int)
    /// A string field is not valid UTF-8.
    case invalidUTF8(field: String)
    /// A flag or tag byte has a value outside its range.
    case invalidValue(field: String, value: UInt8)
    /// Bytes follow the end of the message.
    case trailingBytes(Int)

    public var description: String {
        switch self {
        case .unsupportedVersion(let version):
            "The bus message has encoding version \(version), which this node does not support."
        case .unknownKind(let kind):
            "The bus message has kind \(kind), which this node does not know."
        case .truncated(let field):
            "The bus message ends inside its \(field)."
        case .tooLarge(let field, let length, let limit):
            "The bus message's \(field) is \(length) long, more than the limit of \(limit)."
        case .invalidUTF8(let field):
            "The bus message's \(field) is not valid UTF-8."
        case .invalidValue(let field, let value):
            "The bus message's \(field) has the value \(value), which is not allowed."
        case .trailingBytes(let count):
            "The bus message is followed by \(count) unexpected bytes."
        }
    }
}
