import Crypto
import FuzzDriver
import HeraldCore
import HeraldWire
import NIOCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Verifies tokens made from the input: as they are (its first byte 0 mod 4), or a header and
/// claims of its choosing signed with one of several secrets, known to the apps or not. The
/// verifier never accepts a token unless its signature was made with the key its header names
/// (or the app's secret, where the app allows that), and what it accepts holds the very claims
/// `JSONDecoder` reads from the payload, unexpired and within the identifier limits. A refusal
/// is `auth_failed`, `unknown_app` or, for a correctly signed token only, `token_expired`.
func fuzzToken(_ buffer: ByteBuffer) {
    var input = FuzzInput(buffer)
    let token: String
    // The key the token was signed with, and the key id its header names, when the input chose them.
    var signed: (secret: String, header: TokenFixture.Header)?
    if input.byte() % 4 == 0 {
        token = String(buffer: input.rest())
    } else {
        let header = input.pick(TokenFixture.headers)
        let secret = input.pick(TokenFixture.secrets)
        let headerJSON = header.json ?? Array(buffer: input.bytes(upTo: 0))
        let signingInput =
            TokenFixture.base64URL(headerJSON) + "." + TokenFixture.base64URL(Array(buffer: input.rest()))
        let mac = HMAC<SHA256>.authenticationCode(
            for: Array(signingInput.utf8), using: SymmetricKey(data: Array(secret.utf8)))
        token = signingInput + "." + TokenFixture.base64URL(Array(mac))
        signed = (secret, header)
    }
    do {
        let verified = try TokenFixture.verifier.verify(token, now: TokenFixture.now)
        precondition(
            TokenFixture.isSignedWithAKeyOf(verified.app, token), "a token not signed with a key of its app verified.")
        if let (secret, header) = signed, header.json != nil {
            let expected = header.kid.map { verified.app.signingKey(id: $0)?.secret } ?? verified.app.secret
            precondition(secret == expected, "a token signed with another key than its header names verified.")
        }
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        let payload = TokenFixture.decodeBase64URL(parts[1]) ?? []
        let decoded = try? JSONDecoder().decode(TokenClaims.self, from: Data(payload))
        precondition(decoded == verified.claims, "the verifier read claims that JSONDecoder reads otherwise.")
        let claims = verified.claims
        precondition(claims.app == verified.app.id, "a token verified for another app than it names.")
        precondition(claims.exp > TokenFixture.now, "an expired token verified.")
        precondition(
            (claims.nbf ?? 0) <= TokenFixture.now + TokenVerifier.clockSkew, "a token before its nbf verified.")
        precondition((claims.iat ?? 0) <= TokenFixture.now + TokenVerifier.clockSkew, "a token issued later verified.")
        precondition(
            (1...TokenClaims.maximumIdentifierLength).contains(claims.sub.utf8.count), "a sub out of bounds verified.")
        if let dev = claims.dev {
            precondition(
                (1...TokenClaims.maximumIdentifierLength).contains(dev.utf8.count), "a dev out of bounds verified.")
        }
        if verified.app.id == "strict" {
            precondition(
                signed.map { $0.secret != verified.app.secret } ?? true,
                "a secret-signed token verified for an app that refuses them.")
        }
    } catch {
        precondition(!error.message.isEmpty, "a token was refused without a reason.")
        switch error.code {
        case .authFailed, .unknownApp:
            break
        case .tokenExpired:
            precondition(
                TokenFixture.signedWithAKnownKey(token), "a token not signed with a known key was called expired.")
        default:
            preconditionFailure("a token was refused with \(error.code.rawValue).")
        }
    }
}

/// The apps, keys and headers the tokens are made from.
enum TokenFixture {
    struct Header {
        /// Nil: the input gives the header.
        var json: [UInt8]?
        var kid: String?
    }

    static let now: Int64 = 1_700_000_000

    static let apps = [
        App(
            id: "demo", secret: "demo-secret", epoch: "e1", createdAt: Date(timeIntervalSince1970: 0),
            signingKeys: [
                SigningKey(id: "k1", secret: "demo-key-one", createdAt: Date(timeIntervalSince1970: 0)),
                SigningKey(id: "k2", secret: "demo-key-two", createdAt: Date(timeIntervalSince1970: 0)),
            ]
        ),
        App(
            id: "strict", secret: "strict-secret", epoch: "e1", createdAt: Date(timeIntervalSince1970: 0),
            policy: AppPolicy(maxTokenLifetime: 3600, secretSignedTokens: false),
            signingKeys: [SigningKey(id: "s1", secret: "strict-key", createdAt: Date(timeIntervalSince1970: 0))]
        ),
    ]

    static let verifier = TokenVerifier(apps: AppRegistry(apps))

    /// Every secret and key of the apps, and one that none holds.
    static let secrets = apps.flatMap { [$0.secret] + $0.signingKeys.map(\.secret) } + ["nobody-knows-this"]

    static let headers: [Header] = [
        Header(json: Array(#"{"alg":"HS256","typ":"JWT"}"#.utf8)),
        Header(json: Array(#"{"alg":"HS256","kid":"k1"}"#.utf8), kid: "k1"),
        Header(json: Array(#"{"alg":"HS256","kid":"k2","typ":"JWT"}"#.utf8), kid: "k2"),
        Header(json: Array(#"{"alg":"HS256","kid":"s1"}"#.utf8), kid: "s1"),
        Header(json: Array(#"{"alg":"HS256","kid":"retired"}"#.utf8), kid: "retired"),
        Header(json: Array(#"{"alg":"none"}"#.utf8)),
        Header(json: nil),
    ]

    /// Whether the token's signature is the HMAC of what it signs under the secret or a
    /// signing key of `app`.
    static func isSignedWithAKeyOf(_ app: App, _ token: String) -> Bool {
        guard let last = token.lastIndex(of: "."), let signature = decodeBase64URL(token[token.index(after: last)...])
        else {
            return false
        }
        let signingInput = Array(token[..<last].utf8)
        return ([app.secret] + app.signingKeys.map(\.secret)).contains { secret in
            Array(HMAC<SHA256>.authenticationCode(for: signingInput, using: SymmetricKey(data: Array(secret.utf8))))
                == signature
        }
    }

    static func signedWithAKnownKey(_ token: String) -> Bool {
        apps.contains { isSignedWithAKeyOf($0, token) }
    }

    static func base64URL(_ bytes: [UInt8]) -> String {
        String(
            Data(bytes).base64EncodedString().compactMap { character -> Character? in
                switch character {
                case "+": "-"
                case "/": "_"
                case "=": nil
                default: character
                }
            }
        )
    }

    static func decodeBase64URL(_ text: Substring) -> [UInt8]? {
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        base64 += String(repeating: "=", count: (4 - base64.utf8.count % 4) % 4)
        return Data(base64Encoded: base64).map { Array($0) }
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
func testOneInput(_ data: UnsafePointer<UInt8>?, _ count: Int) -> CInt { FuzzDriver.test(data, count, fuzzToken) }

@_cdecl("FuzzToken_main")
func fuzzMain(_ argc: CInt, _ argv: FuzzDriver.Arguments) -> CInt { FuzzDriver.main(argc, argv, testOneInput) }
