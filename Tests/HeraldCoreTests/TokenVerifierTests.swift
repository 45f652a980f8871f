import Foundation
import HeraldCore
import HeraldWire
import Testing

@Suite struct TokenVerifierTests {
    let fixture = VerifierFixture()
    let secret = VerifierFixture.secret
    let farFuture = VerifierFixture.farFuture
    let now = VerifierFixture.now

    // MARK: Signer round trip

    static let claimSets: [TokenClaims] = [
        TokenClaims(app: "demo", sub: "alice", exp: VerifierFixture.farFuture),
        TokenClaims(app: "demo", sub: "bob", dev: "phone", exp: VerifierFixture.now + 1, topics: ["news.*", "scores"]),
        TokenClaims(
            app: "demo", sub: "Zoë 😀 \"quoted\" /slash\\", dev: "téléphone", exp: VerifierFixture.farFuture, topics: []),
        TokenClaims(
            app: "demo", sub: String(repeating: "u", count: 256), dev: String(repeating: "d", count: 256),
            exp: VerifierFixture.farFuture, topics: ["*"]),
    ]

    @Test(arguments: Self.claimSets)
    func signerRoundTrip(_ claims: TokenClaims) throws {
        let token = TokenSigner.sign(claims, secret: self.secret)
        let verified = try self.fixture.verifier.verify(token, now: self.now)
        #expect(verified.claims == claims)
        #expect(verified.app.id == "demo")
        #expect(verified.app.epoch == "e1")
        #expect(verified.user == claims.sub)
        #expect(verified.device == (claims.dev ?? "default"))
        #expect(verified.topics == TopicPermissions(claims.topics))
    }

    @Test func defaultDevice() throws {
        let verified = try self.fixture.verifier.verify(
            TokenSigner.sign(TokenClaims(app: "demo", sub: "alice", exp: self.farFuture), secret: self.secret),
            now: self.now
        )
        #expect(verified.claims.dev == nil)
        #expect(verified.device == "default")
        #expect(TokenClaims.defaultDevice == "default")
        #expect(verified.topics.allowsAll)
    }

    /// The signer's Base64url: no padding, `-` and `_` instead of `+` and `/`, for every padding length.
    @Test func signerUsesBase64URL() throws {
        var standardAlphabetSeen: Set<Character> = []
        var paddingSeen: Set<Int> = []
        for length in 0..<12 {
            // These characters make standard Base64 use '+' and '/'.
            let sub = String((0..<length).map { ["?", ">", "~", "ÿ", "€"][$0 % 5] })
            let claims = TokenClaims(app: "demo", sub: "s" + sub, exp: self.farFuture)
            let token = TokenSigner.sign(claims, secret: self.secret)
            let parts = token.split(separator: ".", omittingEmptySubsequences: false)
            try #require(parts.count == 3)
            for part in parts {
                #expect(!part.isEmpty)
                #expect(
                    part.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }, "\(part)")
            }
            #expect(
                HandmadeToken.base64URLDecode(parts[0]).map { String(decoding: $0, as: UTF8.self) }
                    == #"{"alg":"HS256","typ":"JWT"}"#)
            let payload = try #require(HandmadeToken.base64URLDecode(parts[1]))
            #expect(try JSONDecoder().decode(TokenClaims.self, from: Data(payload)) == claims)
            let standard = Data(payload).base64EncodedString()
            standardAlphabetSeen.formUnion(standard.filter { $0 == "+" || $0 == "/" })
            paddingSeen.insert(standard.filter { $0 == "=" }.count)
            #expect(HandmadeToken.base64URLDecode(parts[2])?.count == 32)
            #expect(String(parts[2]) == HandmadeToken.signature(parts[0] + "." + parts[1], secret: self.secret))
            #expect(try self.fixture.verifier.verify(token, now: self.now).claims == claims)
        }
        #expect(standardAlphabetSeen == ["+", "/"])
        #expect(paddingSeen == [0, 1, 2])
    }

    @Test func handmadeTokenIsAccepted() throws {
        // The helper that the negative tests below rely on makes tokens the verifier accepts.
        let token = HandmadeToken.make(payload: #"{"app":"demo","sub":"a","exp":4102444800}"#, secret: self.secret)
        #expect(self.fixture.errorCode(token) == nil)
        let spaced = HandmadeToken.make(
            header: #"{ "typ" : "JWT", "alg" : "HS256", "cty": 7 }"#,
            payload: #"{"app":"demo","sub":"a","exp":4102444800,"iat":1,"x":{}}"#,
            secret: self.secret
        )
        #expect(self.fixture.errorCode(spaced) == nil)
    }

    // MARK: Tampering

    @Test func tamperedPayload() {
        let token = TokenSigner.sign(TokenClaims(app: "demo", sub: "alice", exp: self.farFuture), secret: self.secret)
        let parts = token.split(separator: ".")
        let forged = HandmadeToken.base64URL(Array(#"{"app":"demo","exp":4102444800,"sub":"admin"}"#.utf8))
        #expect(self.fixture.errorCode("\(parts[0]).\(forged).\(parts[2])") == .authFailed)
        // Flip one character inside the payload.
        var payload = Array(parts[1])
        payload[payload.count / 2] = payload[payload.count / 2] == "A" ? "B" : "A"
        #expect(self.fixture.errorCode("\(parts[0]).\(String(payload)).\(parts[2])") == .authFailed)
        // A payload signed for another token.
        let other = TokenSigner.sign(TokenClaims(app: "demo", sub: "bob", exp: self.farFuture), secret: self.secret)
        #expect(self.fixture.errorCode("\(parts[0]).\(other.split(separator: ".")[1]).\(parts[2])") == .authFailed)
    }

    @Test func tamperedSignature() {
        let token = TokenSigner.sign(TokenClaims(app: "demo", sub: "alice", exp: self.farFuture), secret: self.secret)
        let parts = token.split(separator: ".")
        let signature = Array(parts[2])
        for index in [0, 10, 20, signature.count - 2] {
            var changed = signature
            changed[index] = changed[index] == "A" ? "B" : "A"
            #expect(
                self.fixture.errorCode("\(parts[0]).\(parts[1]).\(String(changed))") == .authFailed, "index \(index)")
        }
        // 32 bytes take 43 characters, the last of which has 2 unused bits: only one spelling verifies.
        let alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
        let respelled = alphabet.filter { last in
            last != signature.last
                && self.fixture.errorCode("\(parts[0]).\(parts[1]).\(String(signature.dropLast()))\(last)") == nil
        }
        #expect(respelled.isEmpty)
        #expect(self.fixture.errorCode("\(parts[0]).\(parts[1]).") == .authFailed)
        #expect(self.fixture.errorCode("\(parts[0]).\(parts[1]).\(String(signature.dropLast(4)))") == .authFailed)
        #expect(self.fixture.errorCode("\(parts[0]).\(parts[1]).\(String(signature) + "AAAA")") == .authFailed)
    }

    @Test(arguments: [
        #"{"alg":"none","typ":"JWT"}"#, #"{"alg":"HS512","typ":"JWT"}"#, #"{"alg":"HS384"}"#, #"{"alg":"RS256"}"#,
        #"{"alg":"hs256"}"#, #"{"alg":"HS256 "}"#, #"{"typ":"JWT"}"#, #"{"alg":null}"#, #"{"alg":256}"#, #"["HS256"]"#,
        "not json", "",
    ])
    func badAlgorithmHeader(_ header: String) {
        // Correctly signed with HS256 all the same, so only the header is at fault.
        let payload = #"{"app":"demo","sub":"alice","exp":4102444800}"#
        #expect(
            self.fixture.errorCode(HandmadeToken.make(header: header, payload: payload, secret: self.secret))
                == .authFailed)
        // alg none with no signature, the classic attack.
        let unsigned =
            HandmadeToken.base64URL(Array(header.utf8)) + "." + HandmadeToken.base64URL(Array(payload.utf8)) + "."
        #expect(self.fixture.errorCode(unsigned) == .authFailed)
    }

    @Test func wrongNumberOfParts() {
        let token = TokenSigner.sign(TokenClaims(app: "demo", sub: "alice", exp: self.farFuture), secret: self.secret)
        let parts = token.split(separator: ".")
        for bad in [
            "", ".", "..", "...", "abc", "\(parts[0]).\(parts[1])", "\(token).", "\(token).\(parts[2])", ".\(token)",
            "\(parts[0])..\(parts[1]).\(parts[2])",
        ] {
            #expect(self.fixture.errorCode(bad) == .authFailed, "\(bad)")
        }
    }

    @Test(arguments: ["+", "/", "=", " ", "%", "\n", "é", "."])
    func nonBase64URLCharacters(_ bad: String) {
        let token = TokenSigner.sign(TokenClaims(app: "demo", sub: "alice", exp: self.farFuture), secret: self.secret)
        let parts = token.split(separator: ".").map(String.init)
        for index in 0..<3 {
            var changed = parts
            var chars = Array(changed[index])
            chars.insert(contentsOf: bad, at: chars.count / 2)
            changed[index] = String(chars)
            #expect(self.fixture.errorCode(changed.joined(separator: ".")) == .authFailed, "part \(index)")
            // Appended padding is not Base64url either.
            changed[index] = parts[index] + "=="
            #expect(self.fixture.errorCode(changed.joined(separator: ".")) == .authFailed, "part \(index) padded")
        }
    }

    @Test func base64URLOfImpossibleLength() {
        let token = TokenSigner.sign(TokenClaims(app: "demo", sub: "alice", exp: self.farFuture), secret: self.secret)
        let parts = token.split(separator: ".").map(String.init)
        // A length of 4n + 1 characters cannot be Base64.
        for index in 0..<3 {
            var changed = parts
            while changed[index].count % 4 != 1 { changed[index] += "A" }
            #expect(self.fixture.errorCode(changed.joined(separator: ".")) == .authFailed)
        }
    }

    // MARK: Apps and secrets

    @Test func unknownApp() {
        let token = TokenSigner.sign(TokenClaims(app: "nope", sub: "alice", exp: self.farFuture), secret: self.secret)
        #expect(self.fixture.errorCode(token) == .unknownApp)
        // The app is looked up before the signature is checked, and before the expiry.
        let expired = TokenSigner.sign(TokenClaims(app: "nope", sub: "alice", exp: 1), secret: "whatever")
        #expect(self.fixture.errorCode(expired) == .unknownApp)
        #expect(
            self.fixture.errorCode(TokenSigner.sign(TokenClaims(app: "", sub: "a", exp: self.farFuture), secret: ""))
                == .unknownApp)
        #expect(
            self.fixture.errorCode(
                TokenSigner.sign(TokenClaims(app: "DEMO", sub: "a", exp: self.farFuture), secret: self.secret))
                == .unknownApp)
    }

    @Test func wrongSecret() {
        let claims = TokenClaims(app: "demo", sub: "alice", exp: self.farFuture)
        #expect(self.fixture.errorCode(TokenSigner.sign(claims, secret: "other-secret")) == .authFailed)
        #expect(self.fixture.errorCode(TokenSigner.sign(claims, secret: "")) == .authFailed)
        #expect(self.fixture.errorCode(TokenSigner.sign(claims, secret: self.secret + " ")) == .authFailed)
        // Another app's token signed with this app's secret.
        #expect(
            self.fixture.errorCode(
                TokenSigner.sign(TokenClaims(app: "other", sub: "a", exp: self.farFuture), secret: self.secret))
                == .authFailed)
        #expect(
            self.fixture.errorCode(
                TokenSigner.sign(TokenClaims(app: "other", sub: "a", exp: self.farFuture), secret: "other-secret"))
                == nil)
    }

    @Test func secretRotationThroughTheRegistry() {
        let token = TokenSigner.sign(TokenClaims(app: "demo", sub: "alice", exp: self.farFuture), secret: self.secret)
        #expect(self.fixture.errorCode(token) == nil)
        self.fixture.registry.upsert(App(id: "demo", secret: "rotated", epoch: "e1", createdAt: Date()))
        #expect(self.fixture.errorCode(token) == .authFailed)
    }

    // MARK: Expiry

    @Test func expiry() {
        func sign(_ exp: Int64) -> String {
            TokenSigner.sign(TokenClaims(app: "demo", sub: "alice", exp: exp), secret: self.secret)
        }
        #expect(self.fixture.errorCode(sign(self.now + 1)) == nil)
        #expect(self.fixture.errorCode(sign(self.now)) == .tokenExpired)
        #expect(self.fixture.errorCode(sign(self.now - 1)) == .tokenExpired)
        #expect(self.fixture.errorCode(sign(0)) == .tokenExpired)
        #expect(self.fixture.errorCode(sign(-5)) == .tokenExpired)
        // Only a correctly signed token is told it expired.
        let forged = TokenSigner.sign(TokenClaims(app: "demo", sub: "alice", exp: self.now - 1), secret: "wrong")
        #expect(self.fixture.errorCode(forged) == .authFailed)
        // Expiry is checked before the other claims.
        let expiredAndEmpty = TokenSigner.sign(TokenClaims(app: "demo", sub: "", exp: 1), secret: self.secret)
        #expect(self.fixture.errorCode(expiredAndEmpty) == .tokenExpired)
    }

    /// NumericDate may carry a fraction; the verifier rounds it down to whole seconds, so a token
    /// expiring within the current second already counts as expired.
    @Test func fractionalExp() throws {
        let token = HandmadeToken.make(payload: #"{"app":"demo","sub":"a","exp":4102444800.75}"#, secret: self.secret)
        #expect(try self.fixture.verifier.verify(token, now: self.now).claims.exp == 4_102_444_800)
        let halfSecond = HandmadeToken.make(
            payload: #"{"app":"demo","sub":"a","exp":\#(self.now).5}"#, secret: self.secret)
        #expect(self.fixture.errorCode(halfSecond, now: self.now) == .tokenExpired)
        #expect(self.fixture.errorCode(halfSecond, now: self.now - 1) == nil)
        let exponent = HandmadeToken.make(payload: #"{"app":"demo","sub":"a","exp":4.1e9}"#, secret: self.secret)
        #expect(try self.fixture.verifier.verify(exponent, now: self.now).claims.exp == 4_100_000_000)
    }

    // MARK: Claims

    @Test(arguments: [
        #"{"sub":"a","exp":4102444800}"#,
        #"{"app":"demo","exp":4102444800}"#,
        #"{"app":"demo","sub":"a"}"#,
        #"{"app":null,"sub":"a","exp":4102444800}"#,
        #"{"app":"demo","sub":5,"exp":4102444800}"#,
        #"{"app":"demo","sub":"a","exp":"4102444800"}"#,
        #"{"app":"demo","sub":"a","exp":null}"#,
        #"{"app":"demo","sub":"a","exp":1e300}"#,
        #"{"app":"demo","sub":"a","exp":-1e300}"#,
        #"{"app":"demo","sub":"a","exp":1e999}"#,
        #"{"app":"demo","sub":"a","exp":4102444800,"dev":5}"#,
        #"{"app":"demo","sub":"a","exp":4102444800,"topics":"news"}"#,
        #"{"app":"demo","sub":"a","exp":4102444800,"topics":[1]}"#,
        #"{"app":["demo"],"sub":"a","exp":4102444800}"#,
        #"["demo","a",4102444800]"#,
        "null",
        "",
        "not json",
    ])
    func malformedClaims(_ payload: String) {
        #expect(
            self.fixture.errorCode(HandmadeToken.make(payload: payload, secret: self.secret)) == .authFailed,
            "\(payload)")
    }

    @Test func claimBounds() {
        func code(sub: String, dev: String? = nil, topics: [String]? = nil) -> ErrorCode? {
            self.fixture.errorCode(
                TokenSigner.sign(
                    TokenClaims(app: "demo", sub: sub, dev: dev, exp: self.farFuture, topics: topics),
                    secret: self.secret))
        }
        #expect(code(sub: "") == .authFailed)
        #expect(code(sub: String(repeating: "u", count: 257)) == .authFailed)
        #expect(code(sub: String(repeating: "é", count: 128)) == nil)
        #expect(code(sub: String(repeating: "é", count: 129)) == .authFailed)
        #expect(code(sub: "a", dev: "") == .authFailed)
        #expect(code(sub: "a", dev: String(repeating: "d", count: 257)) == .authFailed)
        #expect(code(sub: "a", topics: ["news", ""]) == .authFailed)
        #expect(code(sub: "a", topics: []) == nil)
    }

    @Test func claimsCodable() throws {
        // The signer leaves out claims that are nil.
        let token = TokenSigner.sign(TokenClaims(app: "demo", sub: "alice", exp: 5), secret: self.secret)
        let payload = try #require(HandmadeToken.base64URLDecode(token.split(separator: ".")[1]))
        #expect(String(decoding: payload, as: UTF8.self) == #"{"app":"demo","exp":5,"sub":"alice"}"#)
    }
}
