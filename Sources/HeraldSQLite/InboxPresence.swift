import NIOConcurrencyHelpers

/// The users of this database that may have something in their inbox: every (app, user)
/// with an `inbox_state` row when the store opened, and every one appended to since.
///
/// A session opening for a user not in it needs no read of the database: its replay is
/// empty. Users are kept as 64-bit hashes (8 bytes each), so a collision can only make a
/// user look present, which costs a read and nothing else. Sound because a SQLite store
/// belongs to one process, and a user is added before anything is written for it.
final class InboxPresence: Sendable {
    private let hashes: NIOLockedValueBox<Set<UInt64>>

    init(_ users: some Sequence<(app: String, user: String)>) {
        self.hashes = NIOLockedValueBox(Set(users.map { Self.hash(app: $0.app, user: $0.user) }))
    }

    func insert(app: String, users: some Sequence<String>) {
        let hashes = users.map { Self.hash(app: app, user: $0) }
        self.hashes.withLockedValue { $0.formUnion(hashes) }
    }

    func mayHave(app: String, user: String) -> Bool {
        let hash = Self.hash(app: app, user: user)
        return self.hashes.withLockedValue { $0.contains(hash) }
    }

    /// FNV-1a over the app's bytes, a 0 byte, and the user's bytes: stable across runs,
    /// unlike `Hasher`, and byte-wise, like the database's comparison of keys.
    static func hash(app: String, user: String) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in app.utf8 {
            hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3
        }
        hash = (hash ^ 0) &* 0x0000_0100_0000_01b3
        for byte in user.utf8 {
            hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3
        }
        return hash
    }
}
