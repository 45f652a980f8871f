import Crypto

/// The apps' secrets and signing keys keyed for HMAC-SHA256 once, for ``TokenVerifier``.
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

    /// By app id, and the key id after a NUL (which neither may contain) for signing keys.
    private var entries: [ByteString: Entry] = [:]

    public init() {}

    /// An authenticator keyed with `app`'s secret, or with its signing key `key` when given,
    /// with nothing authenticated yet. A secret that changed is keyed afresh.
    mutating func authenticator(for app: App, key: SigningKey? = nil) -> HMAC<SHA256> {
        let id = ByteString(key.map { app.id + "\u{0}" + $0.id } ?? app.id)
        let secret = key?.secret ?? app.secret
        if let entry = self.entries[id], entry.secret == secret {
            return entry.authenticator
        }
        if self.entries.count >= Self.capacity {
            self.entries.removeAll(keepingCapacity: true)
        }
        let authenticator = HMAC<SHA256>(key: SymmetricKey(data: Array(secret.utf8)))
        self.entries[id] = Entry(secret: secret, authenticator: authenticator)
        return authenticator
    }

    /// Apps keyed so far.
    var count: Int { self.entries.count }
}
