import NIOCore

/// Hexadecimal text <-> bytes, for test vectors and readable failure messages.
public enum Hex {
    /// Why a hex string could not be decoded.
    public struct DecodingError: Error, Sendable, Hashable, CustomStringConvertible {
        /// What is wrong with the input.
        public var reason: String

        /// A description for failure messages.
        public var description: String { "invalid hex: \(self.reason)" }
    }

    /// Decodes hex text (upper or lower case, no separators) into bytes.
    public static func bytes(_ hex: String) throws(DecodingError) -> [UInt8] {
        let digits = Array(hex.utf8)
        guard digits.count.isMultiple(of: 2) else {
            throw DecodingError(reason: "odd number of digits (\(digits.count))")
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(digits.count / 2)
        var index = 0
        while index < digits.count {
            guard let high = Self.value(of: digits[index]), let low = Self.value(of: digits[index + 1]) else {
                throw DecodingError(reason: "non-hex digit near offset \(index)")
            }
            bytes.append(high << 4 | low)
            index += 2
        }
        return bytes
    }

    /// Decodes hex text into a `ByteBuffer`.
    public static func buffer(_ hex: String) throws(DecodingError) -> ByteBuffer {
        ByteBuffer(bytes: try Self.bytes(hex))
    }

    /// Lowercase hex of `bytes`.
    public static func string(_ bytes: some Sequence<UInt8>) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        for byte in bytes {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: text, as: UTF8.self)
    }

    /// Lowercase hex of the readable bytes of `buffer`.
    public static func string(_ buffer: ByteBuffer) -> String {
        Self.string(buffer.readableBytesView)
    }

    private static func value(of digit: UInt8) -> UInt8? {
        switch digit {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): digit - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): digit - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): digit - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
