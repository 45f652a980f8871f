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
        var iat: Int64?
        var nbf: Int64?
        repeat {
            guard let key = scanner.plainString(), scanner.take(UInt8(ascii: ":")) else { return nil }
            let read: Bool
            switch key.count {
            case 3 where key.elementsEqual("app".utf8): read = scanner.readOnce(into: &app) { $0.plainText() }
            case 3 where key.elementsEqual("sub".utf8): read = scanner.readOnce(into: &sub) { $0.plainText() }
            case 3 where key.elementsEqual("dev".utf8): read = scanner.readOnce(into: &dev) { $0.plainText() }
            case 3 where key.elementsEqual("exp".utf8): read = scanner.readOnce(into: &exp) { $0.integer() }
            case 3 where key.elementsEqual("iat".utf8): read = scanner.readOnce(into: &iat) { $0.integer() }
            case 3 where key.elementsEqual("nbf".utf8): read = scanner.readOnce(into: &nbf) { $0.integer() }
            // `topics` and members the decoder would ignore only if it can skip them.
            default: read = !key.elementsEqual("topics".utf8) && scanner.skipPlainValue()
            }
            guard read else { return nil }
        } while scanner.take(UInt8(ascii: ","))
        guard scanner.take(UInt8(ascii: "}")), scanner.isAtEnd, let app, let sub, let exp else { return nil }
        return TokenClaims(app: app, sub: sub, dev: dev, exp: exp, iat: iat, nbf: nbf)
    }
}
