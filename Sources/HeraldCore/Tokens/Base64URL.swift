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

    static func decode(_ text: Substring) -> Data? {
        var base64: [UInt8] = []
        base64.reserveCapacity(text.utf8.count + 3)
        var last: UInt8 = 0
        for byte in text.utf8 {
            let value: UInt8
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"):
                value = byte - UInt8(ascii: "A")
                base64.append(byte)
            case UInt8(ascii: "a")...UInt8(ascii: "z"):
                value = byte - UInt8(ascii: "a") + 26
                base64.append(byte)
            case UInt8(ascii: "0")...UInt8(ascii: "9"):
                value = byte - UInt8(ascii: "0") + 52
                base64.append(byte)
            case UInt8(ascii: "-"):
                value = 62
                base64.append(UInt8(ascii: "+"))
            case UInt8(ascii: "_"):
                value = 63
                base64.append(UInt8(ascii: "/"))
            default: return nil
            }
            last = value
        }
        // Data(base64Encoded:) ignores the unused low bits of the last character; requiring them to
        // be zero keeps one encoding per value, so a token cannot be re-spelled and still verify.
        switch base64.count % 4 {
        case 0: break
        case 2:
            guard last & 0x0F == 0 else { return nil }
            base64 += [UInt8(ascii: "="), UInt8(ascii: "=")]
        case 3:
            guard last & 0x03 == 0 else { return nil }
            base64.append(UInt8(ascii: "="))
        default: return nil
        }
        return Data(base64Encoded: Data(base64))
    }
}
