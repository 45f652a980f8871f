import Foundation
import HeraldCore
import Testing

@testable import HeraldGateway

@Suite struct SessionTableTests {
    static func session(_ number: UInt16, user: String = "alice") -> SessionTable.Session {
        let token = VerifiedToken(app: Fixtures.app, claims: TokenClaims(app: "demo", sub: user, dev: "d\(number)", exp: 0))
        return SessionTable.Session(number: number, token: token, since: Date(timeIntervalSince1970: 0))
    }

    @Test func oneSessionLivesInline() {
        var table = SessionTable()
        #expect(table.isEmpty && table.count == 0 && table[1] == nil && !table.contains(1))
        table[1] = Self.session(1)
        #expect(table.count == 1 && table.contains(1) && !table.contains(2))
        #expect(table[1]?.device == "d1")
        table[1]?.acknowledgedUserSequence = 7
        #expect(table[1]?.acknowledgedUserSequence == 7)
        #expect(table.removeValue(forKey: 1)?.number == 1)
        #expect(table.isEmpty && table.removeValue(forKey: 1) == nil)
    }

    @Test func removingTheInlineSessionKeepsTheOthers() {
        var table = SessionTable()
        for number: UInt16 in [3, 1, 2] { table[number] = Self.session(number) }
        #expect(table.count == 3 && table.keys.sorted() == [1, 2, 3])
        // The first one added sits inline; after it goes, another one takes its place.
        #expect(table.removeValue(forKey: 3)?.number == 3)
        #expect(table.count == 2 && table.keys.sorted() == [1, 2])
        #expect(table.contains(1) && table.contains(2) && !table.contains(3))
        table[1] = nil
        #expect(table.keys == [2] && table[2]?.device == "d2")
        table[4] = Self.session(4)
        #expect(table.values.map(\.number).sorted() == [2, 4])
        #expect(table.first(where: { $0.number == 4 })?.device == "d4")
        table.removeAll()
        #expect(table.isEmpty && table.values.isEmpty)
    }
}
