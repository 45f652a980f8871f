import HeraldCore
import Testing

@Suite struct TopicTests {
    @Test func permissionsWithoutClaimAllowEverything() {
        let any = TopicPermissions(nil)
        #expect(any.allowsAll)
        for topic in ["news", "", "a.b.c", "😀", String(repeating: "x", count: 255)] {
            #expect(any.allows(topic))
        }
    }

    @Test func emptyClaimAllowsNothing() {
        let none = TopicPermissions([])
        #expect(!none.allowsAll)
        #expect(!none.allows("news"))
        #expect(!none.allows(""))
    }

    @Test func exactNames() {
        let permissions = TopicPermissions(["scores", "news"])
        #expect(!permissions.allowsAll)
        #expect(permissions.allows("scores"))
        #expect(permissions.allows("news"))
        #expect(!permissions.allows("news.tech"))
        #expect(!permissions.allows("score"))
        #expect(!permissions.allows("scoresheet"))
        #expect(!permissions.allows("Scores"))
        #expect(!permissions.allows(""))
    }

    @Test func prefixes() {
        let permissions = TopicPermissions(["news.*", "scores"])
        #expect(permissions.allows("news.tech"))
        #expect(permissions.allows("news.tech.ai"))
        #expect(permissions.allows("news."))
        #expect(!permissions.allows("news"))
        #expect(!permissions.allows("newsroom"))
        #expect(!permissions.allows("news*"))
        #expect(!permissions.allows("old.news.tech"))
        #expect(permissions.allows("scores"))
        #expect(!permissions.allows("scores.live"))

        let bare = TopicPermissions(["news*"])
        #expect(bare.allows("news"))
        #expect(bare.allows("newsroom"))
        #expect(!bare.allows("new"))
    }

    @Test func starAloneMatchesEverything() {
        let permissions = TopicPermissions(["*"])
        #expect(!permissions.allowsAll)
        for topic in ["news", "a", "news.tech", "😀", String(repeating: "x", count: 255)] {
            #expect(permissions.allows(topic))
        }
    }

    @Test func unicodePrefix() {
        let permissions = TopicPermissions(["actualités.*"])
        #expect(permissions.allows("actualités.sport"))
        #expect(!permissions.allows("actualites.sport"))
    }

    @Test func nameBounds() {
        #expect(!Topic.isValidName(""))
        #expect(Topic.isValidName("a"))
        #expect(Topic.isValidName(String(repeating: "a", count: 255)))
        #expect(!Topic.isValidName(String(repeating: "a", count: 256)))
        #expect(Topic.maximumLength == 255)
    }

    @Test func nameBoundsCountBytes() {
        // "é" is 2 bytes, "😀" is 4: the bound is on UTF-8 bytes, not characters.
        #expect(Topic.isValidName(String(repeating: "é", count: 127) + "a"))
        #expect(!Topic.isValidName(String(repeating: "é", count: 128)))
        #expect(Topic.isValidName(String(repeating: "😀", count: 63) + "abc"))
        #expect(!Topic.isValidName(String(repeating: "😀", count: 64)))
        #expect(Topic.isValidName("😀"))
    }

    @Test func starIsNotAllowedInNames() {
        #expect(!Topic.isValidName("*"))
        #expect(!Topic.isValidName("news.*"))
        #expect(!Topic.isValidName("*news"))
        #expect(!Topic.isValidName("ne*ws"))
        #expect(Topic.isValidName("news.tech"))
        #expect(Topic.isValidName("news/tech sport#1"))
    }
}
