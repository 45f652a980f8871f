import NIOCore

/// A RESP value that owns its contents, to build replies (a test server, a fake) and to
/// compare what was decoded.
public indirect enum RESPValue: Hashable, Sendable {
    /// A key and its value in a map or attribute.
    public struct Pair: Hashable, Sendable {
        public var key: RESPValue
        public var value: RESPValue

        public init(_ key: RESPValue, _ value: RESPValue) {
            self.key = key
            self.value = value
        }
    }

    case simpleString(String)
    case simpleError(String)
    case bulkString(ByteBuffer)
    case blobError(String)
    case verbatimString(format: String, text: String)
    case integer(Int64)
    case double(Double)
    case boolean(Bool)
    case null
    case bigNumber(String)
    case array([RESPValue])
    case set([RESPValue])
    case push([RESPValue])
    case map([Pair])
    /// A value with the attributes sent ahead of it.
    case attributed([Pair], RESPValue)

    /// Copies a decoded token, all the way down.
    public init(_ token: RESPToken) {
        let value = Self.plain(token)
        if let attributes = token.attributes {
            self = .attributed(attributes.map { Pair(RESPValue($0.key), RESPValue($0.value)) }, value)
        } else {
            self = value
        }
    }

    private static func plain(_ token: RESPToken) -> RESPValue {
        switch token.value {
        case .simpleString(let bytes): .simpleString(String(buffer: bytes))
        case .simpleError(let bytes): .simpleError(String(buffer: bytes))
        case .bulkString(let bytes): .bulkString(bytes)
        case .blobError(let bytes): .blobError(String(buffer: bytes))
        case .verbatimString(let format, let text): .verbatimString(format: format, text: String(buffer: text))
        case .integer(let value): .integer(value)
        case .double(let value): .double(value)
        case .boolean(let value): .boolean(value)
        case .null: .null
        case .bigNumber(let digits): .bigNumber(String(buffer: digits))
        case .array(let elements): .array(elements.map(RESPValue.init))
        case .set(let elements): .set(elements.map(RESPValue.init))
        case .push(let elements): .push(elements.map(RESPValue.init))
        case .map(let pairs): .map(pairs.map { Pair(RESPValue($0.key), RESPValue($0.value)) })
        }
    }

    /// Appends the value to `buffer` in `version` of the protocol.
    ///
    /// RESP2 has no types beyond strings, errors, integers and arrays: the others are written
    /// the way Redis writes them to a RESP2 client (maps and sets as arrays, doubles and big
    /// numbers as bulk strings, booleans as integers, null as `$-1`, attributes dropped).
    public func encode(into buffer: inout ByteBuffer, version: RESPVersion = .resp3) {
        switch (self, version) {
        case (.simpleString(let text), _):
            Self.line(UInt8(ascii: "+"), text, into: &buffer)
        case (.simpleError(let text), _):
            Self.line(UInt8(ascii: "-"), text, into: &buffer)
        case (.bulkString(let bytes), _):
            Self.header(UInt8(ascii: "$"), bytes.readableBytes, into: &buffer)
            buffer.writeImmutableBuffer(bytes)
            buffer.writeStaticString("\r\n")
        case (.blobError(let text), .resp3):
            Self.blob(UInt8(ascii: "!"), text, into: &buffer)
        case (.blobError(let text), .resp2):
            Self.line(UInt8(ascii: "-"), text, into: &buffer)
        case (.verbatimString(let format, let text), .resp3):
            Self.blob(UInt8(ascii: "="), format + ":" + text, into: &buffer)
        case (.verbatimString(_, let text), .resp2):
            Self.blob(UInt8(ascii: "$"), text, into: &buffer)
        case (.integer(let value), _):
            Self.header(UInt8(ascii: ":"), Int(value), into: &buffer)
        case (.double(let value), .resp3):
            Self.line(UInt8(ascii: ","), Self.text(value), into: &buffer)
        case (.double(let value), .resp2):
            Self.blob(UInt8(ascii: "$"), Self.text(value), into: &buffer)
        case (.boolean(let value), .resp3):
            buffer.writeStaticString(value ? "#t\r\n" : "#f\r\n")
        case (.boolean(let value), .resp2):
            buffer.writeStaticString(value ? ":1\r\n" : ":0\r\n")
        case (.null, .resp3):
            buffer.writeStaticString("_\r\n")
        case (.null, .resp2):
            buffer.writeStaticString("$-1\r\n")
        case (.bigNumber(let digits), .resp3):
            Self.line(UInt8(ascii: "("), digits, into: &buffer)
        case (.bigNumber(let digits), .resp2):
            Self.blob(UInt8(ascii: "$"), digits, into: &buffer)
        case (.array(let elements), _):
            Self.aggregate(UInt8(ascii: "*"), elements, version: version, into: &buffer)
        case (.set(let elements), .resp3):
            Self.aggregate(UInt8(ascii: "~"), elements, version: version, into: &buffer)
        case (.push(let elements), .resp3):
            Self.aggregate(UInt8(ascii: ">"), elements, version: version, into: &buffer)
        case (.set(let elements), .resp2), (.push(let elements), .resp2):
            Self.aggregate(UInt8(ascii: "*"), elements, version: version, into: &buffer)
        case (.map(let pairs), .resp3):
            Self.pairs(UInt8(ascii: "%"), pairs, version: version, into: &buffer)
        case (.map(let pairs), .resp2):
            Self.aggregate(UInt8(ascii: "*"), pairs.flatMap { [$0.key, $0.value] }, version: version, into: &buffer)
        case (.attributed(let attributes, let value), .resp3):
            Self.pairs(UInt8(ascii: "|"), attributes, version: version, into: &buffer)
            value.encode(into: &buffer, version: version)
        case (.attributed(_, let value), .resp2):
            value.encode(into: &buffer, version: version)
        }
    }

    private static func text(_ value: Double) -> String {
        if value.isNaN { return "nan" }
        if value.isInfinite { return value < 0 ? "-inf" : "inf" }
        return "\(value)"
    }

    private static func line(_ type: UInt8, _ text: String, into buffer: inout ByteBuffer) {
        buffer.writeInteger(type)
        buffer.writeString(text)
        buffer.writeStaticString("\r\n")
    }

    private static func header(_ type: UInt8, _ count: Int, into buffer: inout ByteBuffer) {
        buffer.writeInteger(type)
        RESPCommandEncoder.writeDecimal(Int64(count), into: &buffer)
        buffer.writeStaticString("\r\n")
    }

    private static func blob(_ type: UInt8, _ text: String, into buffer: inout ByteBuffer) {
        self.header(type, text.utf8.count, into: &buffer)
        buffer.writeString(text)
        buffer.writeStaticString("\r\n")
    }

    private static func aggregate(_ type: UInt8, _ elements: [RESPValue], version: RESPVersion, into buffer: inout ByteBuffer) {
        self.header(type, elements.count, into: &buffer)
        for element in elements {
            element.encode(into: &buffer, version: version)
        }
    }

    private static func pairs(_ type: UInt8, _ pairs: [Pair], version: RESPVersion, into buffer: inout ByteBuffer) {
        self.header(type, pairs.count, into: &buffer)
        for pair in pairs {
            pair.key.encode(into: &buffer, version: version)
            pair.value.encode(into: &buffer, version: version)
        }
    }
}
