import NIOCore

extension RESPToken {
    /// The text of a simple, bulk or verbatim string.
    public var string: String? {
        self.bytes.map { String(buffer: $0) }
    }

    /// The bytes of a simple, bulk or verbatim string.
    public var bytes: ByteBuffer? {
        switch self.value {
        case .simpleString(let bytes), .bulkString(let bytes), .verbatimString(_, let bytes): bytes
        default: nil
        }
    }

    /// An integer, or a string that holds one (RESP2 sends some numbers as strings).
    public var integer: Int64? {
        switch self.value {
        case .integer(let value): value
        case .simpleString(let bytes), .bulkString(let bytes): Int64(String(buffer: bytes))
        default: nil
        }
    }

    /// A double, or a string that holds one (RESP2 sends doubles as bulk strings).
    public var double: Double? {
        switch self.value {
        case .double(let value): value
        case .integer(let value): Double(value)
        case .bulkString(let bytes), .simpleString(let bytes): Double(String(buffer: bytes))
        default: nil
        }
    }

    /// A boolean, or RESP2's integer `0` or `1`.
    public var boolean: Bool? {
        switch self.value {
        case .boolean(let value): value
        case .integer(let value) where value == 0 || value == 1: value == 1
        default: nil
        }
    }

    /// Whether the value is RESP3's null or RESP2's null bulk string or array.
    public var isNull: Bool {
        self.value == .null
    }

    /// The elements of an array, set or push.
    public var elements: Aggregate? {
        switch self.value {
        case .array(let aggregate), .set(let aggregate), .push(let aggregate): aggregate
        default: nil
        }
    }

    /// The pairs of a map, or of RESP2's flat array of keys and values.
    public var map: Map? {
        switch self.value {
        case .map(let map): map
        case .array(let aggregate) where aggregate.count % 2 == 0: Map(count: aggregate.count / 2, elements: aggregate.elements)
        default: nil
        }
    }

    /// The message of a simple or blob error, such as `ERR unknown command 'FOO'`.
    public var errorMessage: String? {
        switch self.value {
        case .simpleError(let bytes), .blobError(let bytes): String(buffer: bytes)
        default: nil
        }
    }
}
