import HeraldCore
import HeraldTestUtils
import HeraldWire
import Testing

/// Signed tokens with random bytes changed, cut, added or swapped between parts: the verifier
/// refuses each with a protocol error or, when the change left what is signed intact, reads
/// the same claims; it never crashes and never accepts other claims.
@Suite struct TokenVerifierFuzzTests {
    static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/ {}\"\\é")

    @Test(arguments: 0..<20)
    func mutatedTokensAreRefusedOrReadAlike(seed: Int) {
        var random = SeededRandom(seed: UInt64(seed) &+ 9_000)
        let fixture = VerifierFixture()
        let claims = TokenClaims(
            app: "demo", sub: "alice-\(seed)", dev: "phone", exp: VerifierFixture.farFuture, topics: ["news.*"])
        let token = Array(TokenSigner.sign(claims, secret: VerifierFixture.secret))
        for _ in 0..<300 {
            var mutated = token
            for _ in 0..<Int.random(in: 1...3, using: &random) {
                let index = Int.random(in: 0..<max(1, mutated.count), using: &random)
                switch Int.random(in: 0..<4, using: &random) {
                case 0 where !mutated.isEmpty:
                    mutated[index] = Self.alphabet.randomElement(using: &random) ?? "A"
                case 1 where !mutated.isEmpty:
                    mutated.removeSubrange(index...)
                case 2:
                    mutated.insert(Self.alphabet.randomElement(using: &random) ?? ".", at: min(index, mutated.count))
                default:
                    mutated.shuffle(using: &random)
                }
            }
            do {
                let verified = try fixture.verifier.verify(String(mutated), now: VerifierFixture.now)
                #expect(verified.claims == claims, "seed \(seed): \(String(mutated)) verified with other claims")
            } catch {
                #expect(!error.message.isEmpty, "seed \(seed)")
            }
        }
    }
}
