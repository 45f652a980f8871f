import HeraldWire

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
                guard app == nil, let value = scanner.plainText() else { return nil }
                app = value
            case 3 where key.elementsEqual("sub".utf8):
                guard sub == nil, let value = scanner.plainText() else { return nil }
                sub = value
            case 3 where key.elementsEqual("dev".utf8):
                guard dev == nil, let value = scanner.plainText() else { return nil }
                dev = value
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
