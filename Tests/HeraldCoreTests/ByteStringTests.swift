import HeraldCore
import Testing

/// Ids are equal only byte for byte, where `String` holds canonically equivalent spellings equal.
@Suite struct ByteStringTests {
    static let pairs: [(String, String)] = [("zo\u{EB}", "zoe\u{308}"), ("\u{C5}", "\u{212B}")]

    @Test func canonicallyEquivalentSpellingsDiffer() {
        for (composed, decomposed) in Self.pairs {
            #expect(composed == decomposed, "the premise: String equality merges them")
            #expect(ByteString(composed) != ByteString(decomposed))
            #expect(!ByteString.same(composed, decomposed))
            #expect(Set([ByteString(composed), ByteString(decomposed)]).count == 2)
            #expect(ByteString(composed) == ByteString(String(decoding: Array(composed.utf8), as: UTF8.self)))
        }
    }

    @Test func equalBytesHashAlike() {
        var dictionary: [ByteString: Int] = [:]
        dictionary[ByteString("zo\u{EB}")] = 1
        dictionary[ByteString("zoe\u{308}")] = 2
        // A string built differently with the same bytes finds the same entry.
        let rebuilt = String(decoding: [0x7A, 0x6F, 0xC3, 0xAB], as: UTF8.self)
        #expect(dictionary[ByteString(rebuilt)] == 1)
        #expect(dictionary.count == 2)
    }

    @Test func ordersByBytes() {
        #expect(ByteString("a") < ByteString("b"))
        #expect(ByteString("Z") < ByteString("a"))
        #expect(ByteString("\u{212B}") > ByteString("\u{C5}"))
    }

    /// Per-connection memory: the wrapper costs nothing over the `String` it holds.
    @Test func sameSizeAsString() {
        #expect(MemoryLayout<ByteString>.size == MemoryLayout<String>.size)
        #expect(MemoryLayout<Set<ByteString>>.size == MemoryLayout<Set<String>>.size)
    }

    @Test func topicPermissionsMatchBytes() {
        let exact = TopicPermissions(["zo\u{EB}"])
        #expect(exact.allows("zo\u{EB}"))
        #expect(!exact.allows("zoe\u{308}"))
        let prefix = TopicPermissions(["\u{C5}.*"])
        #expect(prefix.allows("\u{C5}.news"))
        #expect(!prefix.allows("\u{212B}.news"))
    }
}
