import Crypto

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Makes HS256 client tokens: for the API's token endpoint, the CLI and tests.
public enum TokenSigner {
    /// Signs `claims` with the app's `secret`.
    public static func sign(_ claims: TokenClaims, secret: String) -> String {
        self.sign(claims, header: #"{"alg":"HS256","typ":"JWT"}"#, secret: secret)
    }

    /// Signs `claims` with a signing key, named in the header's `kid`.
    public static func sign(_ claims: TokenClaims, key: SigningKey) -> String {
        // Key ids are plain ASCII (``SigningKey/id``): nothing to escape.
        self.sign(claims, header: #"{"alg":"HS256","kid":""# + key.id + #"","typ":"JWT"}"#, secret: key.secret)
    }

    private static func sign(_ claims: TokenClaims, header: String, secret: String) -> String {
        let header = Base64URL.encode(Array(header.utf8))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Encoding a struct of strings and integers cannot fail.
        let payloadJSON = (try? encoder.encode(claims)) ?? Data()
        let signingInput = header + "." + Base64URL.encode(payloadJSON)
        let mac = HMAC<SHA256>.authenticationCode(
            for: Array(signingInput.utf8),
            using: SymmetricKey(data: Array(secret.utf8))
        )
        return signingInput + "." + Base64URL.encode(Array(mac))
    }
}
