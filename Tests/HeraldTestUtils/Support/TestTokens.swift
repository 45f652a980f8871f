import HeraldCore

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Client tokens made in the test process, for cases the API's token endpoint cannot
/// produce: expired tokens, wrong signatures, apps that do not exist.
public enum TestTokens {
    /// An HS256 token for `user` of `app`, signed with `secret`, expiring `expiresIn` seconds from now
    /// (negative for a token that has already expired).
    public static func sign(
        app: String,
        secret: String,
        user: String,
        device: String? = nil,
        topics: [String]? = nil,
        expiresIn: Int64 = 3600
    ) -> String {
        let now = Int64(Date().timeIntervalSince1970)
        let claims = TokenClaims(app: app, sub: user, dev: device, exp: now + expiresIn, topics: topics)
        return TokenSigner.sign(claims, secret: secret)
    }
}
