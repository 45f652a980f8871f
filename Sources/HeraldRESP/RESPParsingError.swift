/// A reply that is not well-formed RESP, or that exceeds the ``RESPLimits``.
///
/// The connection that received it cannot be trusted to be in step with the server any more
/// and is closed.
public struct RESPParsingError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What was wrong, as an opaque code that can grow without breaking callers.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: Hashable, Sendable {
            case invalidTypeIdentifier
            case invalidLineEnding
            case lineTooLong
            case invalidLength
            case lengthTooLarge
            case aggregateTooLarge
            case nestingTooDeep
            case missingTerminator
            case invalidInteger
            case invalidDouble
            case invalidBoolean
            case invalidNull
            case invalidBigNumber
            case invalidVerbatimString
        }

        private let base: Base

        private init(_ base: Base) {
            self.base = base
        }

        /// The first byte of a value is not a RESP type.
        public static let invalidTypeIdentifier = Code(.invalidTypeIdentifier)
        /// A carriage return not followed by a line feed, or a bare line feed.
        public static let invalidLineEnding = Code(.invalidLineEnding)
        /// A line longer than ``RESPLimits/maximumLineLength``.
        public static let lineTooLong = Code(.lineTooLong)
        /// A length or count that is not decimal digits, or negative other than `-1`.
        public static let invalidLength = Code(.invalidLength)
        /// A bulk length over ``RESPLimits/maximumBulkLength``.
        public static let lengthTooLarge = Code(.lengthTooLarge)
        /// An element count over ``RESPLimits/maximumAggregateCount``.
        public static let aggregateTooLarge = Code(.aggregateTooLarge)
        /// Aggregates nested deeper than ``RESPLimits/maximumDepth``.
        public static let nestingTooDeep = Code(.nestingTooDeep)
        /// A bulk value not followed by CRLF where its length says it ends.
        public static let missingTerminator = Code(.missingTerminator)
        /// An integer that is not a signed 64-bit decimal number.
        public static let invalidInteger = Code(.invalidInteger)
        /// A double that is not a decimal number, `inf`, `-inf` or `nan`.
        public static let invalidDouble = Code(.invalidDouble)
        /// A boolean other than `t` or `f`.
        public static let invalidBoolean = Code(.invalidBoolean)
        /// A null with something between `_` and CRLF.
        public static let invalidNull = Code(.invalidNull)
        /// A big number that is not a signed run of decimal digits.
        public static let invalidBigNumber = Code(.invalidBigNumber)
        /// A verbatim string without its three-letter format and colon.
        public static let invalidVerbatimString = Code(.invalidVerbatimString)

        public var description: String {
            switch self.base {
            case .invalidTypeIdentifier: "a value starts with a byte that is not a RESP type"
            case .invalidLineEnding: "a line does not end with CRLF"
            case .lineTooLong: "a line is longer than the limit"
            case .invalidLength: "a length is not a count of bytes or elements"
            case .lengthTooLarge: "a string claims a length over the limit"
            case .aggregateTooLarge: "an aggregate claims more elements than the limit"
            case .nestingTooDeep: "aggregates are nested deeper than the limit"
            case .missingTerminator: "a string is not followed by CRLF where its length says it ends"
            case .invalidInteger: "an integer is not a signed 64-bit number"
            case .invalidDouble: "a double is not a number"
            case .invalidBoolean: "a boolean is neither t nor f"
            case .invalidNull: "a null carries data"
            case .invalidBigNumber: "a big number is not made of digits"
            case .invalidVerbatimString: "a verbatim string has no format prefix"
            }
        }
    }

    /// What was wrong.
    public var code: Code
    /// Where, in bytes from the start of the reply.
    public var offset: Int

    /// Creates an error for `code` at `offset` bytes into the reply.
    public init(_ code: Code, offset: Int) {
        self.code = code
        self.offset = offset
    }

    public var description: String {
        "The Redis reply is malformed at byte \(self.offset): \(self.code)."
    }
}
