import HeraldCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// A token signing key as the API shows it: its secret only in the answer that made it.
struct SigningKeyResponse: Encodable, Sendable {
    var id: String
    var secret: String?
    var createdAt: Date

    init(_ key: SigningKey, withSecret: Bool) {
        self.id = key.id
        self.secret = withSecret ? key.secret : nil
        self.createdAt = key.createdAt
    }
}

/// The answer to `GET /v1/apps/{app}/signing-keys`.
struct SigningKeyListResponse: Encodable, Sendable {
    var keys: [SigningKeyResponse]
}
