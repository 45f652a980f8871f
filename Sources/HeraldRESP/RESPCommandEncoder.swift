import NIOCore

/// Writes commands as RESP arrays of bulk strings into one buffer that is reused between writes.
///
/// A connection keeps one encoder: ``reset()`` before each batch keeps the buffer's capacity,
/// so a pipeline of commands costs no allocation once the buffer has grown to fit.
public struct RESPCommandEncoder {
    /// The bytes encoded since the last ``reset()``.
    public private(set) var buffer: ByteBuffer

    /// Creates an encoder with an empty buffer.
    public init(buffer: ByteBuffer = ByteBuffer()) {
        self.buffer = buffer
    }

    /// Empties the buffer, keeping its capacity.
    public mutating func reset() {
        self.buffer.clear()
    }

    /// Appends `*N\r\n` followed by `$len\r\narg\r\n` for each argument.
    public mutating func encode(_ command: RESPCommand) {
        self.buffer.writeInteger(UInt8(ascii: "*"))
        Self.writeDecimal(Int64(command.arguments.count), into: &self.buffer)
        self.buffer.writeStaticString("\r\n")
        for argument in command.arguments {
            switch argument {
            case .string(let text):
                self.writeBulkHeader(text.utf8.count)
                self.buffer.writeString(text)
            case .bytes(let bytes):
                self.writeBulkHeader(bytes.readableBytes)
                self.buffer.writeImmutableBuffer(bytes)
            case .integer(let value):
                self.writeBulkHeader(Self.decimalCount(value))
                Self.writeDecimal(value, into: &self.buffer)
            }
            self.buffer.writeStaticString("\r\n")
        }
    }

    private mutating func writeBulkHeader(_ length: Int) {
        self.buffer.writeInteger(UInt8(ascii: "$"))
        Self.writeDecimal(Int64(length), into: &self.buffer)
        self.buffer.writeStaticString("\r\n")
    }

    /// How many bytes the decimal form of `value` takes, sign included.
    static func decimalCount(_ value: Int64) -> Int {
        var count = value < 0 ? 2 : 1
        var rest = value.magnitude / 10
        while rest > 0 {
            count += 1
            rest /= 10
        }
        return count
    }

    /// Writes the decimal digits of `value` without going through a `String`.
    static func writeDecimal(_ value: Int64, into buffer: inout ByteBuffer) {
        if value < 0 { buffer.writeInteger(UInt8(ascii: "-")) }
        var magnitude = value.magnitude
        var divisor: UInt64 = 1
        while magnitude / divisor >= 10 {
            divisor *= 10
        }
        while divisor > 0 {
            buffer.writeInteger(UInt8(ascii: "0") + UInt8(magnitude / divisor))
            magnitude %= divisor
            divisor /= 10
        }
    }
}
