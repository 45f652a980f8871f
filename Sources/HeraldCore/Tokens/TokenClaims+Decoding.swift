#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

extension TokenClaims {
    /// Decodes a token's payload. The common compact payload (as our signer and most others
    /// write it) is read directly; anything else goes through `decoder`, which reads what the
    /// fast path reads the same way.
    static func decode(payload: [UInt8], decoder: JSONDecoder) throws -> TokenClaims {
        if let claims = payload.withUnsafeBufferPointer({ Self.plain($0) }) {
            return claims
        }
        return try decoder.decode(TokenClaims.self, from: Data(payload))
    }

    /// The claims of a payload that is a compact JSON object (no whitespace) whose members are
    /// all strings of printable ASCII without escapes or integers of at most 15 digits, with
    /// `app`, `sub` and `exp` present, each known member once and of its type, and no `topics`;
    /// nil for anything else.
    static func plain(_ bytes: UnsafeBufferPointer<UInt8>) -> TokenClaims? {
        var scanner = PlainJSONScanner(bytes)
        guard scanner.take(UInt8(ascii: "{")) else { return nil }
        var app: String?
        var sub: String?
        var dev: String?
        var exp: Int64?
        repeat {
            guard let key = scanner.plainString(), scanner.take(UInt8(ascii: ":")) else { return nil }
            switch key.count {
            case 3 where key.elementsEqual("app".utf8):
                guard app == nil, let value = scanner.plainString() else { return nil }
                app = String(decoding: value, as: UTF8.self)
            case 3 where key.elementsEqual("sub".utf8):
                guard sub == nil, let value = scanner.plainString() else { return nil }
                sub = String(decoding: value, as: UTF8.self)
            case 3 where key.elementsEqual("dev".utf8):
                guard dev == nil, let value = scanner.plainString() else { return nil }
                dev = String(decoding: value, as: UTF8.self)
            case 3 where key.elementsEqual("exp".utf8):
                guard exp == nil, let value = scanner.integer() else { return nil }
                exp = value
            default:
                // `topics` and members the decoder would ignore only if it can skip them.
                guard !key.elementsEqual("topics".utf8), scanner.skipPlainValue() else { return nil }
            }
        } while scanner.take(UInt8(ascii: ","))
        guard scanner.take(UInt8(ascii: "}")), scanner.isAtEnd, let app, let sub, let exp else { return nil }
        return TokenClaims(app: app, sub: sub, dev: dev, exp: exp)
    }
}

/// Reads the plain subset of JSON that ``TokenClaims/plain(_:)`` accepts.
private struct PlainJSONScanner {
    private let bytes: UnsafeBufferPointer<UInt8>
    private var index = 0

    init(_ bytes: UnsafeBufferPointer<UInt8>) {
        self.bytes = bytes
    }

    var isAtEnd: Bool { self.index == self.bytes.count }

    mutating func take(_ byte: UInt8) -> Bool {
        guard self.index < self.bytes.count, self.bytes[self.index] == byte else { return false }
        self.index += 1
        return true
    }

    /// A string of printable ASCII with no escapes; its bytes without the quotes.
    mutating func plainString() -> UnsafeBufferPointer<UInt8>? {
        guard self.take(UInt8(ascii: "\"")) else { return nil }
        let start = self.index
        while self.index < self.bytes.count {
            let byte = self.bytes[self.index]
            if byte == UInt8(ascii: "\"") {
                let value = UnsafeBufferPointer(rebasing: self.bytes[start..<self.index])
                self.index += 1
                return value
            }
            guard byte >= 0x20, byte <= 0x7E, byte != UInt8(ascii: "\\") else { return nil }
            self.index += 1
        }
        return nil
    }

    /// An integer of 1 to 15 digits, optionally negative, as JSON writes it (no leading zero,
    /// no fraction or exponent): exact in the `Double` the decoder reads it as.
    mutating func integer() -> Int64? {
        let negative = self.take(UInt8(ascii: "-"))
        let start = self.index
        var value: Int64 = 0
        while self.index < self.bytes.count, self.index - start < 16 {
            let byte = self.bytes[self.index]
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { break }
            value = value * 10 + Int64(byte - UInt8(ascii: "0"))
            self.index += 1
        }
        let digits = self.index - start
        guard digits >= 1, digits <= 15 else { return nil }
        if digits > 1, self.bytes[start] == UInt8(ascii: "0") { return nil }
        if self.index < self.bytes.count {
            switch self.bytes[self.index] {
            case UInt8(ascii: "."), UInt8(ascii: "e"), UInt8(ascii: "E"): return nil
            default: break
            }
        }
        return negative ? -value : value
    }

    /// Skips a plain string or an integer.
    mutating func skipPlainValue() -> Bool {
        guard self.index < self.bytes.count else { return false }
        if self.bytes[self.index] == UInt8(ascii: "\"") { return self.plainString() != nil }
        return self.integer() != nil
    }
}
