/// A token whose signature, expiry and claims were checked, with the app it belongs to.
public struct VerifiedToken: Sendable, Hashable {
    public var app: App
    public var claims: TokenClaims
    public var topics: TopicPermissions

    public init(app: App, claims: TokenClaims) {
        self.app = app
        self.claims = claims
        self.topics = TopicPermissions(claims.topics)
    }

    public var user: String { self.claims.sub }
    public var device: String { self.claims.device }
}
