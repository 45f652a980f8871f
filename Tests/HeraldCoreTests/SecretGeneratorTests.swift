import HeraldCore
import Testing

@Suite struct SecretGeneratorTests {
    static func isLowercaseHex(_ text: String) -> Bool {
        text.utf8.allSatisfy {
            (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains($0)
        }
    }

    @Test func defaultSecret() {
        let secret = SecretGenerator.make()
        #expect(secret.utf8.count == 64)
        #expect(Self.isLowercaseHex(secret))
    }

    @Test(arguments: [1, 16, 24, 64])
    func byteCount(_ bytes: Int) {
        let secret = SecretGenerator.make(byteCount: bytes)
        #expect(secret.utf8.count == bytes * 2)
        #expect(Self.isLowercaseHex(secret))
    }

    @Test func unique() {
        let secrets = (0..<500).map { _ in SecretGenerator.make() }
        #expect(Set(secrets).count == secrets.count)
        // Every hex digit shows up across many secrets.
        #expect(Set(secrets.joined()).count == 16)
    }
}
