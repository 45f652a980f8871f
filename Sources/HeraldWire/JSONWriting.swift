import NIOCore

/// JSON written by hand for the bodies every connection sends or gets once (AUTH and
/// AUTH_OK): `JSONEncoder` costs several microseconds a body, a large share of what the
/// server spends on a new connection. The output is what `JSONEncoder` writes with sorted
/// keys and unescaped slashes; tests compare the two.
extension ByteBuffer {
    /// Appends `string` as a JSON string literal: quoted, with `"`, `\` and control
    /// characters escaped. Everything else is written as UTF-8.
    @discardableResult
    public mutating func writeJSONString(_ string: String) -> Int {
        var string = string
        return string.withUTF8 { utf8 in
            if utf8.contains(where: Self.needsEscape) {
                return self.writeEscapedJSONString(utf8)
            }
            // Nearly always: nothing to escape, so quotes and text go in one write.
            return self.writeQuoted(utf8)
        }
    }

    /// Appends `before`, `text` in quotes and `after` in one write (each of the buffer's writes
    /// checks its capacity and its uniqueness): text that needs no escaping, such as a JSON
    /// key with its comma and colon.
    @discardableResult
    mutating func writeQuoted(_ text: UnsafeBufferPointer<UInt8>, before: UInt8? = nil, after: UInt8? = nil) -> Int {
        self.writeWithUnsafeMutableBytes(minimumWritableBytes: text.count + 4) { out in
            var index = 0
            if let before {
                out[index] = before
                index += 1
            }
            out[index] = UInt8(ascii: "\"")
            index += 1
            UnsafeMutableRawBufferPointer(rebasing: out[index..<(index + text.count)]).copyMemory(
                from: UnsafeRawBufferPointer(text)
            )
            index += text.count
            out[index] = UInt8(ascii: "\"")
            index += 1
            if let after {
                out[index] = after
                index += 1
            }
            return index
        }
    }

    private static func needsEscape(_ byte: UInt8) -> Bool {
        byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\")
    }

    private mutating func writeEscapedJSONString(_ utf8: UnsafeBufferPointer<UInt8>) -> Int {
        let start = self.writerIndex
        self.writeInteger(UInt8(ascii: "\""))
        var runStart = 0
        for (index, byte) in utf8.enumerated() where Self.needsEscape(byte) {
            self.writeBytes(UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(utf8)[runStart..<index]))
            runStart = index + 1
            self.writeInteger(UInt8(ascii: "\\"))
            switch byte {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"): self.writeInteger(byte)
            case 0x08: self.writeInteger(UInt8(ascii: "b"))
            case 0x0C: self.writeInteger(UInt8(ascii: "f"))
            case 0x0A: self.writeInteger(UInt8(ascii: "n"))
            case 0x0D: self.writeInteger(UInt8(ascii: "r"))
            case 0x09: self.writeInteger(UInt8(ascii: "t"))
            default:
                let hex = Array("0123456789abcdef".utf8)
                self.writeString("u00")
                self.writeInteger(hex[Int(byte >> 4)])
                self.writeInteger(hex[Int(byte & 0x0F)])
            }
        }
        self.writeBytes(UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(utf8)[runStart...]))
        self.writeInteger(UInt8(ascii: "\""))
        return self.writerIndex - start
    }

    /// Appends `value` as a JSON number, in decimal, without making a `String` of it first.
    @discardableResult
    public mutating func writeJSONInteger(_ value: some BinaryInteger) -> Int {
        guard let wide = Int64(exactly: value) else {
            guard let magnitude = UInt64(exactly: value) else { return self.writeString(String(value)) }
            return self.writeDecimal(magnitude, negative: false)
        }
        return self.writeDecimal(wide.magnitude, negative: wide < 0)
    }

    private mutating func writeDecimal(_ magnitude: UInt64, negative: Bool) -> Int {
        // 20 digits hold UInt64.max; one more for the sign.
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 21) { digits in
            var index = digits.count
            var rest = magnitude
            repeat {
                index -= 1
                digits[index] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: rest % 10)
                rest /= 10
            } while rest > 0
            if negative {
                index -= 1
                digits[index] = UInt8(ascii: "-")
            }
            return self.writeBytes(UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(digits)[index...]))
        }
    }

    /// Writes a frame whose body `writeBody` appends, patching the length in afterwards.
    @discardableResult
    mutating func writeFrame(op: Opcode, seq: UInt32, writeBody: (inout ByteBuffer) -> Void) -> Int {
        let start = self.writerIndex
        self.writeFrameHeader(op: op, seq: seq, bodyLength: 0)
        let bodyStart = self.writerIndex
        writeBody(&self)
        let bodyLength = self.writerIndex - bodyStart
        self.setInteger(UInt32(truncatingIfNeeded: Frame.minimumLength + bodyLength), at: start)
        return self.writerIndex - start
    }
}
