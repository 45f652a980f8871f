/// An inbox, ordered so that every process locks inboxes in the same order.
///
/// Compared by UTF-8 bytes, as PostgreSQL compares keys for equality (Swift's `==` would
/// merge canonically equivalent strings that are distinct rows in the database).
struct InboxKey: Hashable, Comparable, Sendable {
    var app: String
    var user: String

    static func == (lhs: InboxKey, rhs: InboxKey) -> Bool {
        lhs.app.utf8.elementsEqual(rhs.app.utf8) && lhs.user.utf8.elementsEqual(rhs.user.utf8)
    }

    func hash(into hasher: inout Hasher) {
        for byte in self.app.utf8 { hasher.combine(byte) }
        hasher.combine(0xFF as UInt8)  // never in UTF-8: separates app from user
        for byte in self.user.utf8 { hasher.combine(byte) }
    }

    static func < (lhs: InboxKey, rhs: InboxKey) -> Bool {
        if !lhs.app.utf8.elementsEqual(rhs.app.utf8) {
            return lhs.app.utf8.lexicographicallyPrecedes(rhs.app.utf8)
        }
        return lhs.user.utf8.lexicographicallyPrecedes(rhs.user.utf8)
    }
}
