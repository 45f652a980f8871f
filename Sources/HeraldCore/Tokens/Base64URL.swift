#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Base64url without padding, as JWTs use it (RFC 7515, section 2).
enum Base64URL {
    static func encode(_ bytes: some Sequence<UInt8>) -> String {
        let base64 = Data(bytes).base64EncodedString().utf8.compactMap { byte -> UInt8? in
            switch byte {
            case UInt8(ascii: "+"): UInt8(ascii: "-")
            case UInt8(ascii: "/"): UInt8(ascii: "_")
            case UInt8(ascii: "="): nil
            default: byte
            }
        }
        return String(decoding: base64, as: UTF8.self)
    }

    /// The bytes `text` encodes, or nil if it is not canonical unpadded base64url.
    static func decode(_ text: Substring) -> [UInt8]? {
        var text = text
        return text.withUTF8 { Self.decode(utf8: $0) }
    }

    /// Each byte's value in the alphabet; `invalid` for bytes outside it.
    private static let values: [UInt8] = {
        var values = [UInt8](repeating: Self.invalid, count: 256)
        for (index, byte) in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8.enumerated() {
            values[Int(byte)] = UInt8(index)
        }
        return values
    }()

    /// Outside 0...63: any character value or'ed with it has a high bit set.
    private static let invalid: UInt8 = 0xFF

    /// Four characters at a time into three bytes, written straight into the result: this runs
    /// for every token a connection presents.
    private static func decode(utf8: UnsafeBufferPointer<UInt8>) -> [UInt8]? {
        let count = utf8.count
        let tail = count % 4
        guard tail != 1 else { return nil }
        let decodedCount = count / 4 * 3 + max(0, tail - 1)
        return Self.values.withUnsafeBufferPointer { values -> [UInt8]? in
            /// The 24 bits of the `length` characters from `start` (missing ones count as 0),
            /// or nil if one is outside the alphabet.
            func group(_ start: Int, _ length: Int) -> UInt32? {
                var group: UInt32 = 0
                var seen: UInt8 = 0
                for offset in 0..<4 {
                    let value = offset < length ? values[Int(utf8[start + offset])] : 0
                    seen |= value
                    group = group << 6 | UInt32(value)
                }
                return seen & 0xC0 == 0 ? group : nil
            }
            var valid = true
            let bytes = [UInt8](unsafeUninitializedCapacity: decodedCount) { out, initialized in
                var output = 0
                func write(_ group: UInt32, bytes: Int) {
                    for index in 0..<bytes {
                        out[output + index] = UInt8(truncatingIfNeeded: group >> (16 - 8 * index))
                    }
                    output += bytes
                }
                var input = 0
                while input + 4 <= count {
                    guard let group = group(input, 4) else {
                        valid = false
                        return
                    }
                    write(group, bytes: 3)
                    input += 4
                }
                if tail > 0 {
                    // The unused low bits of the last character must be zero: one encoding per
                    // value, so a token cannot be re-spelled and still verify.
                    let produced = tail - 1
                    guard let group = group(input, tail), group & ((1 << (8 * (3 - produced))) - 1) == 0 else {
                        valid = false
                        return
                    }
                    write(group, bytes: produced)
                }
                initialized = output
            }
            return valid ? bytes : nil
        }
    }
}
