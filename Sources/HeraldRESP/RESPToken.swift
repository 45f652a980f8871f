import NIOCore

/// One complete, validated RESP value: a view of the bytes the server sent.
///
/// A token is made only from bytes that ``RESPScanner`` has checked, so reading it never
/// fails; its parts (strings, numbers, the elements of an aggregate) are decoded when they
/// are asked for, and slices share the reply's storage rather than copying it.
public struct RESPToken: Hashable, Sendable {
    /// The value as its type and contents.
    public enum Value: Hashable, Sendable {
        /// `+`: a status line such as `OK`.
        case simpleString(ByteBuffer)
        /// `-`: an error line such as `ERR unknown command`.
        case simpleError(ByteBuffer)
        /// `$`: a string of bytes.
        case bulkString(ByteBuffer)
        /// `!`: a length-prefixed error.
        case blobError(ByteBuffer)
        /// `=`: text with its three-letter format (`txt`, `mkd`).
        case verbatimString(format: String, text: ByteBuffer)
        /// `:`: an integer.
        case integer(Int64)
        /// `,`: a floating point number.
        case double(Double)
        /// `#`: a boolean.
        case boolean(Bool)
        /// `_`, or RESP2's `$-1` and `*-1`.
        case null
        /// `(`: an integer of any size, as its decimal digits.
        case bigNumber(ByteBuffer)
        /// `*`: a list.
        case array(Aggregate)
        /// `~`: a set.
        case set(Aggregate)
        /// `>`: an out-of-band message.
        case push(Aggregate)
        /// `%`: key and value pairs.
        case map(Map)
    }

    /// The bytes of the value, exactly, attributes included.
    public let base: ByteBuffer

    /// Wraps bytes that hold exactly one value that was already validated.
    init(validated base: ByteBuffer) {
        self.base = base
    }

    /// Takes one complete value from the front of `buffer`.
    ///
    /// - Returns: the token, or `nil` (leaving `buffer` untouched) when the value is not complete yet.
    /// - Throws: ``RESPParsingError`` when the bytes are not RESP or exceed `limits`.
    public init?(consuming buffer: inout ByteBuffer, limits: RESPLimits = RESPLimits()) throws(RESPParsingError) {
        let scanned = buffer.withUnsafeReadableBytes { bytes in
            Result { () throws(RESPParsingError) -> Int? in
                try RESPScanner(bytes: bytes, limits: limits).scanValue(at: 0)
            }
        }
        guard let end = try scanned.get(), let slice = buffer.readSlice(length: end) else { return nil }
        self.init(validated: slice)
    }

    /// The type of the value, looking past any attributes.
    public var identifier: RESPTypeIdentifier {
        self.layout.type
    }

    /// The attributes sent ahead of the value, if any.
    public var attributes: Map? {
        let found = self.base.withUnsafeReadableBytes { bytes -> (count: Int, range: Range<Int>)? in
            let header = Self.header(bytes, at: 0)
            guard header.type == .attribute else { return nil }
            let count = Int(RESPScanner.parseInteger(bytes, header.line) ?? 0)
            return (count, header.next..<Self.attributeEnd(bytes, at: 0))
        }
        return found.map { Map(count: $0.count, elements: self.slice($0.range)) }
    }

    /// The value, decoded one level deep.
    public var value: Value {
        let layout = self.layout
        let header = layout.header
        let line = self.slice(header.line)
        switch header.type {
        case .simpleString: return .simpleString(line)
        case .simpleError: return .simpleError(line)
        case .integer: return .integer(self.integer(header.line) ?? 0)
        case .double: return .double(Double(String(buffer: line)) ?? .nan)
        case .boolean: return .boolean(line.getInteger(at: line.readerIndex, as: UInt8.self) == UInt8(ascii: "t"))
        case .null: return .null
        case .bigNumber: return .bigNumber(line)
        case .bulkString, .blobError, .verbatimString:
            let length = Int(self.integer(header.line) ?? -1)
            guard length >= 0 else { return .null }
            let payload = self.slice(header.next..<header.next + length)
            switch header.type {
            case .blobError:
                return .blobError(payload)
            case .verbatimString:
                let format = String(buffer: self.slice(header.next..<header.next + 3))
                return .verbatimString(format: format, text: self.slice(header.next + 4..<header.next + length))
            default:
                return .bulkString(payload)
            }
        case .array, .set, .push, .map, .attribute:
            let count = Int(self.integer(header.line) ?? -1)
            guard count >= 0 else { return .null }
            let elements = self.slice(header.next..<layout.end)
            switch header.type {
            case .map: return .map(Map(count: count, elements: elements))
            case .set: return .set(Aggregate(count: count, elements: elements))
            case .push: return .push(Aggregate(count: count, elements: elements))
            default: return .array(Aggregate(count: count, elements: elements))
            }
        }
    }

    // MARK: Walking the validated bytes

    /// The first line of a value: its type, where its line is, where what follows starts.
    struct Header {
        var type: RESPTypeIdentifier
        var line: Range<Int>
        var next: Int
    }

    /// Where the value proper (past its attributes) starts and ends.
    private struct Layout {
        var header: Header
        var end: Int
        var type: RESPTypeIdentifier { self.header.type }
    }

    private var layout: Layout {
        self.base.withUnsafeReadableBytes { bytes in
            var start = 0
            var header = Self.header(bytes, at: start)
            while header.type == .attribute {
                start = Self.attributeEnd(bytes, at: start)
                header = Self.header(bytes, at: start)
            }
            return Layout(header: header, end: bytes.count)
        }
    }

    static func header(_ bytes: UnsafeRawBufferPointer, at start: Int) -> Header {
        let type = RESPTypeIdentifier(rawValue: bytes[start]) ?? .null
        var end = start + 1
        while end < bytes.count, bytes[end] != UInt8(ascii: "\r") {
            end += 1
        }
        return Header(type: type, line: start + 1..<end, next: end + 2)
    }

    /// Where the pairs of the attribute at `start` end, and the value it describes begins.
    private static func attributeEnd(_ bytes: UnsafeRawBufferPointer, at start: Int) -> Int {
        let header = self.header(bytes, at: start)
        let scanner = RESPScanner(bytes: bytes, limits: .validated)
        var position = header.next
        for _ in 0..<Int(RESPScanner.parseInteger(bytes, header.line) ?? 0) * 2 {
            position = (try? scanner.scanValue(at: position)) ?? bytes.count
        }
        return position
    }

    private func slice(_ range: Range<Int>) -> ByteBuffer {
        self.base.getSlice(at: self.base.readerIndex + range.lowerBound, length: range.count) ?? ByteBuffer()
    }

    private func integer(_ range: Range<Int>) -> Int64? {
        self.base.withUnsafeReadableBytes { RESPScanner.parseInteger($0, range) }
    }
}
