import ArgumentParser
import HeraldCommandLine
import HeraldCore

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// `herald token`: sign a client token with the app's secret, locally.
struct Token: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print a client token (an HS256 JWT signed with the app secret)."
    )

    @OptionGroup var credentials: AppCredentials

    @Option(help: "User id (the token's sub).")
    var user: String

    @Option(help: "Device id (default: \"default\").")
    var device: String?

    @Option(help: "Seconds until the token expires.")
    var ttl: Int = 3600

    @Option(help: "Topic names or prefixes ending in * the session may subscribe to (repeatable; default any).")
    var topic: [String] = []

    func run() throws {
        let (app, secret) = try self.credentials.resolved()
        print(Self.make(app: app, secret: secret, user: self.user, device: self.device, ttl: self.ttl, topics: self.topic))
    }

    static func make(app: String, secret: String, user: String, device: String?, ttl: Int, topics: [String]) -> String {
        let exp = Int64(Date().timeIntervalSince1970) + Int64(max(1, ttl))
        let claims = TokenClaims(app: app, sub: user, dev: device, exp: exp, topics: topics.isEmpty ? nil : topics)
        return TokenSigner.sign(claims, secret: secret)
    }
}
