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
            var valid = true
            let bytes = [UInt8](unsafeUninitializedCapacity: decodedCount) { out, initialized in
                var input = 0
                var output = 0
                while input + 4 <= count {
                    let a = values[Int(utf8[input])]
                    let b = values[Int(utf8[input + 1])]
                    let c = values[Int(utf8[input + 2])]
                    let d = values[Int(utf8[input + 3])]
                    guard (a | b | c | d) & 0xC0 == 0 else {
                        valid = false
                        return
                    }
                    out[output] = a << 2 | b >> 4
                    out[output + 1] = b << 4 | c >> 2
                    out[output + 2] = c << 6 | d
                    input += 4
                    output += 3
                }
                // The unused low bits of the last character must be zero: one encoding per
                // value, so a token cannot be re-spelled and still verify.
                switch tail {
                case 2:
                    let a = values[Int(utf8[input])]
                    let b = values[Int(utf8[input + 1])]
                    guard (a | b) & 0xC0 == 0, b & 0x0F == 0 else {
                        valid = false
                        return
                    }
                    out[output] = a << 2 | b >> 4
                    output += 1
                case 3:
                    let a = values[Int(utf8[input])]
                    let b = values[Int(utf8[input + 1])]
                    let c = values[Int(utf8[input + 2])]
                    guard (a | b | c) & 0xC0 == 0, c & 0x03 == 0 else {
                        valid = false
                        return
                    }
                    out[output] = a << 2 | b >> 4
                    out[output + 1] = b << 4 | c >> 2
                    output += 2
                default:
                    break
                }
                initialized = output
            }
            return valid ? bytes : nil
        }
    }
}
