/// The first byte of every RESP2 and RESP3 value, which says what follows.
public enum RESPTypeIdentifier: UInt8, Hashable, Sendable, CaseIterable {
    /// `+`: a line of text.
    case simpleString = 43
    /// `-`: a line of text that is an error.
    case simpleError = 45
    /// `:`: a signed 64-bit integer.
    case integer = 58
    /// `$`: a length-prefixed string of bytes (`$-1` is RESP2's null).
    case bulkString = 36
    /// `*`: a counted list of values (`*-1` is RESP2's null array).
    case array = 42
    /// `_`: RESP3's null.
    case null = 95
    /// `#`: `t` or `f`.
    case boolean = 35
    /// `,`: a floating point number, `inf`, `-inf` or `nan`.
    case double = 44
    /// `(`: an integer of any size, as decimal digits.
    case bigNumber = 40
    /// `!`: a length-prefixed error.
    case blobError = 33
    /// `=`: a length-prefixed string whose first four bytes name its format (`txt:`, `mkd:`).
    case verbatimString = 61
    /// `%`: a counted list of key and value pairs.
    case map = 37
    /// `~`: a counted list of distinct values.
    case set = 126
    /// `|`: key and value pairs describing the value that follows them.
    case attribute = 124
    /// `>`: an out-of-band message from the server (pub/sub, invalidation).
    case push = 62

    /// Whether the value counts elements (or pairs) rather than bytes.
    public var isAggregate: Bool {
        switch self {
        case .array, .map, .set, .attribute, .push: true
        default: false
        }
    }
}
