/// An inbox: (app, user), ordered so that every process locks inboxes in the same order.
///
/// Compared by UTF-8 bytes, as SQLite and PostgreSQL compare keys (Swift's `==` would merge
/// canonically equivalent strings that are distinct rows in the database), so every store
/// keeps such users apart alike.
public struct InboxKey: Hashable, Comparable, Sendable {
    public var app: String
    public var user: String

    public init(app: String, user: String) {
        self.app = app
        self.user = user
    }

    public static func == (lhs: InboxKey, rhs: InboxKey) -> Bool {
        lhs.app.utf8.elementsEqual(rhs.app.utf8) && lhs.user.utf8.elementsEqual(rhs.user.utf8)
    }

    public func hash(into hasher: inout Hasher) {
        for byte in self.app.utf8 { hasher.combine(byte) }
        hasher.combine(0xFF as UInt8)  // never in UTF-8: separates app from user
        for byte in self.user.utf8 { hasher.combine(byte) }
    }

    public static func < (lhs: InboxKey, rhs: InboxKey) -> Bool {
        if !lhs.app.utf8.elementsEqual(rhs.app.utf8) {
            return lhs.app.utf8.lexicographicallyPrecedes(rhs.app.utf8)
        }
        return lhs.user.utf8.lexicographicallyPrecedes(rhs.user.utf8)
    }
}
