import Crypto
import Foundation
import HeraldCore
import HeraldWire

/// Builds JWTs by hand, so that tests control every byte of the header and payload.
enum HandmadeToken {
    static let header = #"{"alg":"HS256","typ":"JWT"}"#

    static func base64URL(_ bytes: some Sequence<UInt8>) -> String {
        Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    static func base64URLDecode(_ text: Substring) -> [UInt8]? {
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while !base64.count.isMultiple(of: 4) { base64 += "=" }
        return Data(base64Encoded: base64).map(Array.init)
    }

    static func signature(_ signingInput: String, secret: String) -> String {
        let mac = HMAC<SHA256>.authenticationCode(
            for: Array(signingInput.utf8), using: SymmetricKey(data: Array(secret.utf8)))
        return base64URL(Array(mac))
    }

    /// `header.payload.signature`, signed HS256 with `secret` whatever the header says.
    static func make(header: String = Self.header, payload: String, secret: String) -> String {
        let signingInput = base64URL(Array(header.utf8)) + "." + base64URL(Array(payload.utf8))
        return signingInput + "." + signature(signingInput, secret: secret)
    }
}

/// An app registry holding `demo` (and `other`), and a verifier over it.
struct VerifierFixture {
    static let secret = "demo-secret"
    static let farFuture: Int64 = 4_102_444_800
    static let now: Int64 = 1_700_000_000

    let registry: AppRegistry
    let verifier: TokenVerifier

    init(secret: String = Self.secret) {
        self.registry = AppRegistry([
            App(id: "demo", secret: secret, epoch: "e1", createdAt: Date(timeIntervalSince1970: 0)),
            App(id: "other", secret: "other-secret", epoch: "e2", createdAt: Date(timeIntervalSince1970: 0)),
        ])
        self.verifier = TokenVerifier(apps: self.registry)
    }

    /// The error code `token` gets, or `nil` if it is accepted.
    func errorCode(_ token: String, now: Int64 = Self.now) -> ErrorCode? {
        do {
            _ = try self.verifier.verify(token, now: now)
            return nil
        } catch {
            return error.code
        }
    }
}
