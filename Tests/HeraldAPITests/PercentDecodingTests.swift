import Testing

@testable import HeraldAPI

@Suite("PercentDecoding and ConstantTime")
struct PercentDecodingTests {
    @Test func decodesEscapes() {
        #expect(PercentDecoding.decode("plain") == "plain")
        #expect(PercentDecoding.decode("a%20b%2Fc") == "a b/c")
        #expect(PercentDecoding.decode("%C3%A9") == "é")
    }

    @Test func rejectsMalformedEscapesAndInvalidUTF8() {
        #expect(PercentDecoding.decode("%ZZ") == nil)
        #expect(PercentDecoding.decode("%2") == nil)
        #expect(PercentDecoding.decode("abc%") == nil)
        #expect(PercentDecoding.decode("%FF%FE") == nil)
    }

    @Test func constantTimeEquality() {
        #expect(ConstantTime.equals("secret", "secret"))
        #expect(!ConstantTime.equals("secret", "secreT"))
        #expect(!ConstantTime.equals("secret", "secret1"))
        #expect(!ConstantTime.equals("", "x"))
        #expect(ConstantTime.equals("", ""))
        // Lengths that differ by a multiple of 256 must not compare equal.
        #expect(!ConstantTime.equals(String(repeating: "a", count: 256), ""))
    }
}
