import Foundation
import HeraldWire
import Testing

@testable import HeraldCore

/// A loop's kept HMAC keys give the same answers as keying afresh for every token.
@Suite struct TokenKeysTests {
    let fixture = VerifierFixture()

    func token(app: String = "demo", sub: String, secret: String = VerifierFixture.secret) -> String {
        TokenSigner.sign(TokenClaims(app: app, sub: sub, exp: VerifierFixture.farFuture), secret: secret)
    }

    func outcome(_ token: String, keys: inout TokenKeys) -> Result<String, ProtocolError> {
        Result { () throws(ProtocolError) in
            try self.fixture.verifier.verify(token, now: VerifierFixture.now, keys: &keys).user
        }
    }

    /// Good, tampered and wrongly signed tokens of two apps in turn, through one set of keys:
    /// a kept key carries nothing from one token to the next.
    @Test func keptKeysAnswerAsFreshOnes() throws {
        var keys = TokenKeys()
        var tokens: [String] = []
        for index in 0..<20 {
            let good = self.token(sub: "user\(index)")
            tokens.append(good)
            tokens.append(String(good.dropLast()) + (good.hasSuffix("A") ? "B" : "A"))
            tokens.append(self.token(sub: "user\(index)", secret: "wrong-secret"))
            tokens.append(self.token(app: "other", sub: "other\(index)", secret: "other-secret"))
        }
        for token in tokens + tokens.reversed() {
            let fresh = Result { () throws(ProtocolError) in
                try self.fixture.verifier.verify(token, now: VerifierFixture.now).user
            }
            let kept = self.outcome(token, keys: &keys)
            switch (fresh, kept) {
            case (.success(let a), .success(let b)): #expect(a == b)
            case (.failure(let a), .failure(let b)): #expect(a.code == b.code)
            default: Issue.record("\(token): fresh \(fresh), kept \(kept)")
            }
        }
        #expect(keys.count == 2)
        #expect(throws: ProtocolError.self) {
            try self.fixture.verifier.verify(tokens[1], now: VerifierFixture.now, keys: &keys)
        }
    }

    /// A secret changed in the registry is used at once; tokens signed with the old one fail.
    @Test func aChangedSecretIsKeyedAgain() throws {
        var keys = TokenKeys()
        let before = self.token(sub: "alice")
        #expect(try self.outcome(before, keys: &keys).get() == "alice")
        var app = try #require(self.fixture.registry.app(id: "demo"))
        app.secret = "rotated-secret"
        self.fixture.registry.upsert(app)
        #expect(throws: ProtocolError.self) { try self.outcome(before, keys: &keys).get() }
        let after = self.token(sub: "alice", secret: "rotated-secret")
        #expect(try self.outcome(after, keys: &keys).get() == "alice")
        #expect(keys.count == 1)
    }

    /// Past its capacity the set starts again instead of growing with every app.
    @Test func keysAreBounded() throws {
        let count = TokenKeys.capacity + 5
        let apps = (0..<count).map { App(id: "app\($0)", secret: "secret-\($0)", epoch: "e", createdAt: Date()) }
        let verifier = TokenVerifier(apps: AppRegistry(apps))
        var keys = TokenKeys()
        for round in 0..<2 {
            for app in apps {
                let token = TokenSigner.sign(
                    TokenClaims(app: app.id, sub: "u\(round)", exp: VerifierFixture.farFuture), secret: app.secret)
                #expect(try verifier.verify(token, now: VerifierFixture.now, keys: &keys).app.id == app.id)
                #expect(keys.count <= TokenKeys.capacity)
            }
        }
    }
}
