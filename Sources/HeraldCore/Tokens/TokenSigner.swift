import Crypto

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Makes HS256 client tokens: for the API's token endpoint, the CLI and tests.
public enum TokenSigner {
    /// Signs `claims` with `secret`.
    public static func sign(_ claims: TokenClaims, secret: String) -> String {
        let header = Base64URL.encode(Array(#"{"alg":"HS256","typ":"JWT"}"#.utf8))
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
