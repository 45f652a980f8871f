import Foundation
import HeraldCore
import HeraldTestUtils
import HeraldWire
import Testing

/// The `tokens` section of `protocol-vectors.json`.
@Suite struct TokenVectorTests {
    @Test(arguments: try ProtocolVectors.load().tokens)
    func tokenVector(_ vector: ProtocolVectors.TokenVector) throws {
        let registry = AppRegistry([App(id: "demo", secret: vector.secret, epoch: "e1", createdAt: Date())])
        let verifier = TokenVerifier(apps: registry)
        let now = Int64(Date().timeIntervalSince1970)
        if vector.expect == "accepted" {
            let verified = try verifier.verify(vector.token, now: now)
            let claims = try #require(vector.claims, "an accepted vector lists its claims")
            #expect(verified.app.id == "demo")
            #expect(verified.claims.app == claims.app)
            #expect(verified.claims.sub == claims.sub)
            #expect(verified.user == claims.sub)
            #expect(verified.claims.dev == claims.dev)
            #expect(verified.device == (claims.dev ?? "default"))
            #expect(verified.claims.exp == claims.exp)
            #expect(verified.claims.topics == claims.topics)
            #expect(verified.topics == TopicPermissions(claims.topics))
        } else {
            #expect(throws: ProtocolError.self) { try verifier.verify(vector.token, now: now) }
            do {
                _ = try verifier.verify(vector.token, now: now)
            } catch {
                #expect(error.code.rawValue == vector.expect, "\(error)")
            }
        }
    }
}
