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

    // Through ByteString: a memcmp and one `combine(bytes:)` per field. Hashing a byte at a
    // time made the inbox planner's dictionaries 5% of the server's CPU under QoS 1 load.
    public static func == (lhs: InboxKey, rhs: InboxKey) -> Bool {
        ByteString(lhs.app) == ByteString(rhs.app) && ByteString(lhs.user) == ByteString(rhs.user)
    }

    public func hash(into hasher: inout Hasher) {
        // Each ends with a byte never in UTF-8, which separates app from user.
        ByteString(self.app).hash(into: &hasher)
        ByteString(self.user).hash(into: &hasher)
    }

    public static func < (lhs: InboxKey, rhs: InboxKey) -> Bool {
        let (leftApp, rightApp) = (ByteString(lhs.app), ByteString(rhs.app))
        if leftApp != rightApp { return leftApp < rightApp }
        return ByteString(lhs.user) < ByteString(rhs.user)
    }
}
