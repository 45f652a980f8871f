import Foundation
import HeraldCore
import HeraldWire
import Testing

@testable import HeraldAPI

/// `POST/GET /v1/apps/{app}/signing-keys` and `DELETE .../{kid}`: keys are made with their
/// secret shown once, listed without it, used by the token endpoint (newest first), bounded
/// per app, and retired.
@Suite("API: signing keys")
struct SigningKeyRoutesTests {
    @Test func addListSignRetire() async throws {
        try await APIHarness.run { server in
            let made = try await server.post("/v1/apps/demo/signing-keys", json: [:])
            #expect(made.status == 201, "\(made.text)")
            let id = try #require(made.json?["id"] as? String)
            let secret = try #require(made.json?["secret"] as? String)
            #expect(secret.count == 64)
            #expect(server.registry.app(id: "demo")?.signingKey(id: id)?.secret == secret)

            let listed = try await server.get("/v1/apps/demo/signing-keys")
            let keys = try #require(listed.json?["keys"] as? [[String: Any]])
            #expect(keys.map { $0["id"] as? String } == [id])
            #expect(keys.allSatisfy { $0["secret"] == nil }, "a listed key shows its secret")

            // The token endpoint signs with the newest key, and the gateway's verifier takes it.
            let token = try await server.post("/v1/apps/demo/tokens", json: ["user": "alice", "ttl": 60])
            let jwt = try #require(token.json?["token"] as? String)
            let header = try #require(Base64URLForTests.decode(String(jwt.split(separator: ".")[0])))
            #expect(header.contains(#""kid":"\#(id)""#))
            let verifier = TokenVerifier(apps: server.registry)
            #expect(try verifier.verify(jwt, now: Int64(Date().timeIntervalSince1970)).user == "alice")

            #expect(try await server.delete("/v1/apps/demo/signing-keys/\(id)").status == 204)
            #expect(server.registry.app(id: "demo")?.signingKeys.isEmpty == true)
            #expect(throws: ProtocolError.self) { try verifier.verify(jwt, now: Int64(Date().timeIntervalSince1970)) }
            let again = try await server.delete("/v1/apps/demo/signing-keys/\(id)")
            #expect(again.status == 404)
            #expect(again.text.contains("unknown_signing_key"))
        }
    }

    @Test func keysPerAppAreBounded() async throws {
        try await APIHarness.run { server in
            for _ in 0..<SigningKey.maximumPerApp {
                #expect(try await server.post("/v1/apps/demo/signing-keys", json: [:]).status == 201)
            }
            let refused = try await server.post("/v1/apps/demo/signing-keys", json: [:])
            #expect(refused.status == 409)
            #expect(refused.text.contains("too_many_signing_keys"))
        }
    }

    @Test func tokenLifetimeAndSecretSigningFollowThePolicy() async throws {
        try await APIHarness.run { server in
            let admin = APIHarness.adminKey
            let created = try await server.post(
                "/v1/apps",
                json: ["id": "strict", "policy": ["maxTokenLifetime": 300, "secretSignedTokens": false]],
                bearer: admin)
            #expect(created.status == 201, "\(created.text)")
            let secret = try #require(created.json?["secret"] as? String)
            let noKey = try await server.post("/v1/apps/strict/tokens", json: ["user": "a", "ttl": 60], bearer: secret)
            #expect(noKey.status == 409)
            #expect(noKey.text.contains("no_signing_key"))
            #expect(try await server.post("/v1/apps/strict/signing-keys", json: [:], bearer: secret).status == 201)
            let tooLong = try await server.post("/v1/apps/strict/tokens", json: ["user": "a", "ttl": 301], bearer: secret)
            #expect(tooLong.status == 400)
            #expect(tooLong.text.contains("maxTokenLifetime"))
            let ok = try await server.post("/v1/apps/strict/tokens", json: ["user": "a", "ttl": 300], bearer: secret)
            #expect(ok.status == 200, "\(ok.text)")
        }
    }
}

/// Decodes a JWT part for a test's look at it.
enum Base64URLForTests {
    static func decode(_ text: String) -> String? {
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64 += "=" }
        return Data(base64Encoded: base64).map { String(decoding: $0, as: UTF8.self) }
    }
}
