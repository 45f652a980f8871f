import Crypto

/// The apps' secrets keyed for HMAC-SHA256 once, for ``TokenVerifier``.
///
/// Keying HMAC makes the key, pads it and hashes two blocks: half of what checking a token's
/// signature costs, paid again for every connection of the same app. A keyed authenticator
/// is copied instead (swift-crypto copies the hash state on first write).
/// Not `Sendable`, since swift-crypto's hash state is not: each event loop keeps its own.
public struct TokenKeys {
    private struct Entry {
        var secret: String
        var authenticator: HMAC<SHA256>
    }

    /// More apps than this and the keys are dropped and made again as tokens arrive: a
    /// bound on what a node with many apps keeps per loop.
    static let capacity = 1024

    private var entries: [ByteString: Entry] = [:]

    public init() {}

    /// An authenticator keyed with `app`'s secret, with nothing authenticated yet. A secret
    /// that changed is keyed afresh.
    mutating func authenticator(for app: App) -> HMAC<SHA256> {
        if let entry = self.entries[ByteString(app.id)], entry.secret == app.secret {
            return entry.authenticator
        }
        if self.entries.count >= Self.capacity {
            self.entries.removeAll(keepingCapacity: true)
        }
        let authenticator = HMAC<SHA256>(key: SymmetricKey(data: Array(app.secret.utf8)))
        self.entries[ByteString(app.id)] = Entry(secret: app.secret, authenticator: authenticator)
        return authenticator
    }

    /// Apps keyed so far.
    var count: Int { self.entries.count }
}
