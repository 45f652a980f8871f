import Crypto
import HeraldWire

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Verifies client tokens: HS256 JWTs signed with the app's secret, or with one of its
/// signing keys when the header names one (`kid`).
///
/// The order of the checks fixes which error a client sees: a token that does not parse
/// or lacks a claim is `auth_failed`; an app that does not exist is `unknown_app`; a bad
/// signature, an unknown or retired `kid`, or a secret-signed token where the app accepts
/// only its signing keys is `auth_failed`; only a correctly signed token can be
/// `token_expired`, or `auth_failed` for `nbf` or `iat` in the future (beyond
/// ``clockSkew``) or a lifetime past the app's `maxTokenLifetime`.
public struct TokenVerifier: Sendable {
    private let apps: AppRegistry
    private let decoder = JSONDecoder()

    /// Headers as common signers write them (ours among them): known to say HS256 without
    /// decoding them.
    private static let knownHS256Headers: Set<Substring> = Set(
        [#"{"alg":"HS256","typ":"JWT"}"#, #"{"typ":"JWT","alg":"HS256"}"#, #"{"alg":"HS256"}"#].map {
            Substring(Base64URL.encode(Array($0.utf8)))
        }
    )

    public init(apps: AppRegistry) {
        self.apps = apps
    }

    /// How far a signer's clock may run ahead of ours, in seconds, for `nbf` and `iat`.
    public static let clockSkew: Int64 = 60

    /// Verifies `token` at time `now` (seconds since 1970).
    public func verify(_ token: String, now: Int64) throws(ProtocolError) -> VerifiedToken {
        var keys = TokenKeys()
        return try self.verify(token, now: now, keys: &keys)
    }

    /// Verifies `token` at time `now` (seconds since 1970), keying HMAC through `keys`: a
    /// caller that verifies many tokens (an event loop) keeps one `keys` for all of them.
    public func verify(_ token: String, now: Int64, keys: inout TokenKeys) throws(ProtocolError) -> VerifiedToken {
        let utf8 = token.utf8
        guard let firstDot = utf8.firstIndex(of: UInt8(ascii: ".")),
            let secondDot = utf8[utf8.index(after: firstDot)...].firstIndex(of: UInt8(ascii: ".")),
            !utf8[utf8.index(after: secondDot)...].contains(UInt8(ascii: "."))
        else {
            throw Self.failed("token is not a JWT of three parts")
        }
        let headerPart = token[..<firstDot]
        let payloadPart = token[token.index(after: firstDot)..<secondDot]
        let signaturePart = token[token.index(after: secondDot)...]
        var keyID: String?
        if !Self.knownHS256Headers.contains(headerPart) {
            guard let headerBytes = Base64URL.decode(headerPart),
                let header = try? self.decoder.decode(Header.self, from: Data(headerBytes))
            else {
                throw Self.failed("token header is malformed")
            }
            guard header.alg == "HS256" else { throw Self.failed("token algorithm must be HS256") }
            keyID = header.kid
        }
        guard let payload = Base64URL.decode(payloadPart) else { throw Self.failed("token payload is malformed") }
        let claims: TokenClaims
        do {
            claims = try TokenClaims.decode(payload: payload, decoder: self.decoder)
        } catch {
            throw Self.failed("token claims are malformed or lack app, sub or exp")
        }
        guard let app = self.apps.app(id: claims.app) else {
            throw ProtocolError(.unknownApp, "app \"\(Self.printable(claims.app))\" does not exist")
        }
        guard let signature = Base64URL.decode(signaturePart) else { throw Self.failed("token signature is malformed") }
        let signingKey: SigningKey?
        if let keyID {
            guard let key = app.signingKey(id: keyID) else {
                throw Self.failed("token signing key \"\(Self.printable(keyID))\" is unknown or retired")
            }
            signingKey = key
        } else {
            guard app.policy.secretSignedTokens else {
                throw Self.failed("this app accepts only tokens signed with a signing key (kid)")
            }
            signingKey = nil
        }
        var authenticator = keys.authenticator(for: app, key: signingKey)
        let signingInputLength = utf8.distance(from: utf8.startIndex, to: secondDot)
        var contiguous = token
        contiguous.withUTF8 { bytes in
            authenticator.update(
                data: UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: bytes[..<signingInputLength])))
        }
        // A constant-time comparison (swift-crypto's).
        guard authenticator.finalize() == signature else { throw Self.failed("token signature does not verify") }
        guard claims.exp > now else { throw ProtocolError(.tokenExpired, "token expired") }
        try Self.checkTimes(claims, now: now, policy: app.policy)
        try Self.validate(claims)
        return VerifiedToken(app: app, claims: claims)
    }

    /// `nbf` and `iat` not in the future (beyond the skew), and the lifetime within the app's bound.
    private static func checkTimes(_ claims: TokenClaims, now: Int64, policy: AppPolicy) throws(ProtocolError) {
        if let nbf = claims.nbf, nbf > now + Self.clockSkew {
            throw Self.failed("token is not valid yet (nbf)")
        }
        if let iat = claims.iat, iat > now + Self.clockSkew {
            throw Self.failed("token was issued in the future (iat)")
        }
        if let limit = policy.maxTokenLifetime {
            let issued = min(claims.iat ?? now, now)
            guard claims.exp - issued <= Int64(limit) else {
                throw Self.failed("token lifetime exceeds the app's limit of \(limit) seconds")
            }
        }
    }

    private static func validate(_ claims: TokenClaims) throws(ProtocolError) {
        guard !claims.sub.isEmpty, claims.sub.utf8.count <= TokenClaims.maximumIdentifierLength else {
            throw Self.failed("sub must be 1 to \(TokenClaims.maximumIdentifierLength) bytes")
        }
        if let dev = claims.dev, dev.isEmpty || dev.utf8.count > TokenClaims.maximumIdentifierLength {
            throw Self.failed("dev must be 1 to \(TokenClaims.maximumIdentifierLength) bytes")
        }
        if let topics = claims.topics, topics.contains(where: \.isEmpty) {
            throw Self.failed("topics claim holds an empty pattern")
        }
    }

    private static func failed(_ message: String) -> ProtocolError {
        ProtocolError(.authFailed, message)
    }

    private static func printable(_ text: String) -> String {
        String(text.unicodeScalars.prefix(64).filter { $0.properties.generalCategory != .control }.map(Character.init))
    }

    private struct Header: Decodable {
        var alg: String
        var kid: String?
    }
}
