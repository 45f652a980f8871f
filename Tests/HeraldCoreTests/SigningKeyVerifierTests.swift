import Foundation
@testable import HeraldCore
import HeraldWire
import Testing

/// Tokens signed with an app's signing keys (`kid`), rotation, and the time claims: `nbf`
/// and `iat` within the clock skew, and the app's maximum token lifetime.
@Suite struct SigningKeyVerifierTests {
    static let now = VerifierFixture.now
    static let old = SigningKey(id: "k-old", secret: "old-signing-secret", createdAt: Date(timeIntervalSince1970: 0))
    static let new = SigningKey(id: "k-new", secret: "new-signing-secret", createdAt: Date(timeIntervalSince1970: 1))

    static func verifier(keys: [SigningKey] = [old, new], policy: AppPolicy = AppPolicy()) -> TokenVerifier {
        TokenVerifier(apps: AppRegistry([
            App(id: "demo", secret: "demo-secret", epoch: "e1", createdAt: Date(timeIntervalSince1970: 0), policy: policy,
                signingKeys: keys)
        ]))
    }

    static func code(_ token: String, _ verifier: TokenVerifier) -> ErrorCode? {
        do {
            _ = try verifier.verify(token, now: Self.now)
            return nil
        } catch {
            return error.code
        }
    }

    static let claims = TokenClaims(app: "demo", sub: "alice", exp: now + 600)

    @Test func eachHeldKeyVerifiesItsTokensAndOnlyThose() {
        let verifier = Self.verifier()
        #expect(Self.code(TokenSigner.sign(Self.claims, key: Self.old), verifier) == nil)
        #expect(Self.code(TokenSigner.sign(Self.claims, key: Self.new), verifier) == nil)
        // The API secret still signs tokens without a kid (docs/protocol.md).
        #expect(Self.code(TokenSigner.sign(Self.claims, secret: "demo-secret"), verifier) == nil)
        // A kid with another key's secret, a kid the app never had, the secret under a kid.
        let forged = SigningKey(id: Self.old.id, secret: Self.new.secret, createdAt: Self.old.createdAt)
        #expect(Self.code(TokenSigner.sign(Self.claims, key: forged), verifier) == .authFailed)
        let unknown = SigningKey(id: "k-unknown", secret: Self.old.secret, createdAt: Self.old.createdAt)
        #expect(Self.code(TokenSigner.sign(Self.claims, key: unknown), verifier) == .authFailed)
        let secretUnderKid = SigningKey(id: Self.old.id, secret: "demo-secret", createdAt: Self.old.createdAt)
        #expect(Self.code(TokenSigner.sign(Self.claims, key: secretUnderKid), verifier) == .authFailed)
    }

    @Test func aRetiredKeyNoLongerVerifies() {
        let rotated = Self.verifier(keys: [Self.new])
        #expect(Self.code(TokenSigner.sign(Self.claims, key: Self.old), rotated) == .authFailed)
        #expect(Self.code(TokenSigner.sign(Self.claims, key: Self.new), rotated) == nil)
    }

    @Test func anAppMayRefuseSecretSignedTokens() {
        let verifier = Self.verifier(policy: AppPolicy(secretSignedTokens: false))
        #expect(Self.code(TokenSigner.sign(Self.claims, secret: "demo-secret"), verifier) == .authFailed)
        #expect(Self.code(TokenSigner.sign(Self.claims, key: Self.new), verifier) == nil)
    }

    @Test func notBeforeAndIssuedAtAreHonouredWithinTheSkew() {
        let verifier = Self.verifier()
        let skew = TokenVerifier.clockSkew
        func token(iat: Int64? = nil, nbf: Int64? = nil) -> String {
            TokenSigner.sign(TokenClaims(app: "demo", sub: "a", exp: Self.now + 3600, iat: iat, nbf: nbf), key: Self.new)
        }
        #expect(Self.code(token(nbf: Self.now - 10), verifier) == nil)
        #expect(Self.code(token(nbf: Self.now + skew), verifier) == nil)
        #expect(Self.code(token(nbf: Self.now + skew + 1), verifier) == .authFailed)
        #expect(Self.code(token(iat: Self.now + skew), verifier) == nil)
        #expect(Self.code(token(iat: Self.now + skew + 1), verifier) == .authFailed)
        // An expired token is token_expired whatever its other claims.
        let expired = TokenSigner.sign(TokenClaims(app: "demo", sub: "a", exp: Self.now - 1, nbf: Self.now + 9999), key: Self.new)
        #expect(Self.code(expired, verifier) == .tokenExpired)
    }

    @Test func theAppsMaximumLifetimeBoundsEveryToken() {
        let verifier = Self.verifier(policy: AppPolicy(maxTokenLifetime: 900))
        func token(exp: Int64, iat: Int64? = nil) -> String {
            TokenSigner.sign(TokenClaims(app: "demo", sub: "a", exp: exp, iat: iat), key: Self.new)
        }
        #expect(Self.code(token(exp: Self.now + 900, iat: Self.now), verifier) == nil)
        #expect(Self.code(token(exp: Self.now + 901, iat: Self.now), verifier) == .authFailed)
        // Issued long ago with a long life: the lifetime counts from iat, not from now.
        #expect(Self.code(token(exp: Self.now + 100, iat: Self.now - 5000), verifier) == .authFailed)
        // Without iat, the lifetime left from now counts.
        #expect(Self.code(token(exp: Self.now + 800), verifier) == nil)
        #expect(Self.code(token(exp: Self.now + 1000), verifier) == .authFailed)
    }

    @Test func theKidTravelsInTheHeader() throws {
        let token = TokenSigner.sign(Self.claims, key: Self.new)
        let header = try #require(Base64URL.decode(token.split(separator: ".")[0]))
        #expect(String(decoding: header, as: UTF8.self) == #"{"alg":"HS256","kid":"k-new","typ":"JWT"}"#)
    }
}
