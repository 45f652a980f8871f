import Foundation
import HeraldTestUtils
import Testing

@testable import HeraldCore

/// The token fast paths against Foundation: ``Base64URL/decode(_:)`` and
/// ``TokenClaims/plain(_:)`` must read what they accept exactly as `Data(base64Encoded:)` and
/// `JSONDecoder` do.
@Suite struct TokenPayloadDecodingTests {
    // MARK: Base64URL

    /// What the decoder did before it decoded by hand: map to base64, pad, and let Foundation
    /// decode, with the same canonical check on the last character.
    static func referenceDecode(_ text: String) -> [UInt8]? {
        var base64 = ""
        var last: UInt8 = 0
        for scalar in text.unicodeScalars {
            let alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
            guard let position = alphabet.unicodeScalars.firstIndex(of: scalar) else { return nil }
            last = UInt8(alphabet.unicodeScalars.distance(from: alphabet.unicodeScalars.startIndex, to: position))
            base64.unicodeScalars.append(scalar == "-" ? "+" : scalar == "_" ? "/" : scalar)
        }
        switch base64.utf8.count % 4 {
        case 0: break
        case 2:
            guard last & 0x0F == 0 else { return nil }
            base64 += "=="
        case 3:
            guard last & 0x03 == 0 else { return nil }
            base64 += "="
        default: return nil
        }
        return Data(base64Encoded: base64).map(Array.init)
    }

    @Test func base64URLRoundTripsEveryLength() {
        var random = SeededRandom(seed: 7)
        for length in 0..<200 {
            let bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &random) }
            let encoded = Base64URL.encode(bytes)
            #expect(!encoded.contains("="))
            #expect(Base64URL.decode(Substring(encoded)) == bytes, "length \(length)")
        }
    }

    @Test func base64URLMatchesFoundationOnRandomText() {
        var random = SeededRandom(seed: 11)
        let characters = Array("ABCXYZabcxyz0189-_+/=. \u{e9}")
        for _ in 0..<20_000 {
            let length = Int.random(in: 0...12, using: &random)
            let text = String((0..<length).map { _ in characters.randomElement(using: &random) ?? "A" })
            #expect(Base64URL.decode(Substring(text)) == Self.referenceDecode(text), "\(text)")
        }
    }

    @Test func base64URLRefusesNonCanonicalEndings() {
        // "QQ" is "A"; "QR" differs only in bits the encoding leaves unused.
        #expect(Base64URL.decode("QQ") == [0x41])
        #expect(Base64URL.decode("QR") == nil)
        #expect(Base64URL.decode("QUI") == [0x41, 0x42])
        #expect(Base64URL.decode("QUJ") == nil)
        #expect(Base64URL.decode("Q") == nil)
        #expect(Base64URL.decode("QQ==") == nil)
        #expect(Base64URL.decode("") == [])
    }

    // MARK: Claims

    static func plain(_ json: String) -> TokenClaims? {
        Array(json.utf8).withUnsafeBufferPointer { TokenClaims.plain($0) }
    }

    static func foundation(_ json: String) -> TokenClaims? {
        try? JSONDecoder().decode(TokenClaims.self, from: Data(json.utf8))
    }

    @Test func plainReadsWhatSignersWrite() throws {
        let claims = TokenClaims(app: "demo", sub: "u42", dev: "phone", exp: 1_895_791_804)
        let signed = TokenSigner.sign(claims, secret: "secret-secret-secret-secret-1234")
        let payload = try #require(Base64URL.decode(signed.split(separator: ".")[1]))
        #expect(payload.withUnsafeBufferPointer { TokenClaims.plain($0) } == claims)
        #expect(
            Self.plain(#"{"sub":"u","iat":1700000000,"exp":1,"iss":"x","app":"a"}"#)
                == TokenClaims(app: "a", sub: "u", exp: 1, iat: 1_700_000_000))
        #expect(Self.plain(#"{"app":"a","sub":"u","exp":-7}"#) == TokenClaims(app: "a", sub: "u", exp: -7))
    }

    @Test(arguments: [
        #"{"app":"a","sub":"u","exp":1,"topics":["x"]}"#,  // topics: the decoder's
        #"{"app":"a","sub":"u","exp":1.5}"#,  // a fraction
        #"{"app":"a","sub":"u","exp":1e3}"#,  // an exponent
        #"{"app":"a","sub":"u","exp":0123}"#,  // a leading zero
        #"{"app":"a","sub":"u","exp":1234567890123456}"#,  // sixteen digits
        #"{"app":"a","sub":"u","exp":"1"}"#,  // a string
        #"{"app":"a","sub":"u\n","exp":1}"#,  // an escape
        #"{"app":"a","sub":"Zoë","exp":1}"#,  // not ASCII
        #"{"app":"a","app":"b","sub":"u","exp":1}"#,  // a member twice
        #"{"app":"a","sub":"u","exp":1,"dev":null}"#,  // null
        #"{"app":"a","sub":"u","exp":1,"x":true}"#,  // an unknown member it cannot skip
        #"{ "app":"a","sub":"u","exp":1}"#,  // whitespace
        #"{"app":"a","sub":"u"}"#,  // no exp
        #"{"app":"a","sub":"u","exp":1}x"#,  // trailing bytes
        #"{"app":"a","sub":"u","exp":1,}"#,  // a trailing comma
        "",
        "{}",
    ])
    func plainLeavesEverythingElseToTheDecoder(_ json: String) {
        #expect(Self.plain(json) == nil)
    }

    /// Random payloads near the plain shape: wherever the fast path answers, JSONDecoder must
    /// give the same claims.
    @Test func plainAgreesWithJSONDecoder() {
        var random = SeededRandom(seed: 23)
        let keys = ["app", "sub", "dev", "exp", "iat", "topics", "ap", "appx", "\\u0061pp"]
        let strings = ["a", "demo", "u1", "", " ", "x y", "Zoë", "q\\\"", "/", "~"]
        let numbers = [
            "0", "1", "-1", "42", "1895791804", "-0", "007", "1.0", "2e3", "999999999999999", "1234567890123456",
        ]
        let others = ["true", "null", "[]", "[\"x\"]", "{}"]
        var answered = 0
        func value(numeric: Bool, _ random: inout SeededRandom) -> String {
            switch Int.random(in: 0..<10, using: &random) {
            case 0..<8 where numeric: return numbers.randomElement(using: &random) ?? "0"
            case 0..<8: return "\"" + (strings.randomElement(using: &random) ?? "") + "\""
            case 8: return others.randomElement(using: &random) ?? "null"
            default: return numeric ? "\"1\"" : "1"
            }
        }
        for _ in 0..<20_000 {
            // Mostly the three claims it needs, of the right types, plus a few others.
            var members: [String] = []
            for key in ["app", "sub", "exp"] where Int.random(in: 0..<20, using: &random) > 0 {
                members.append("\"\(key)\":\(value(numeric: key == "exp", &random))")
            }
            for _ in 0..<Int.random(in: 0...2, using: &random) {
                let key = keys.randomElement(using: &random) ?? "app"
                members.append("\"\(key)\":\(value(numeric: Bool.random(using: &random), &random))")
            }
            members.shuffle(using: &random)
            let json = "{" + members.joined(separator: ",") + "}"
            guard let fast = Self.plain(json) else { continue }
            answered += 1
            #expect(fast == Self.foundation(json), "\(json)")
        }
        // The generator must reach the fast path often enough to mean something.
        #expect(answered > 300)
    }
}
