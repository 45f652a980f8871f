#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// An application registered with Herald: its backend pushes with `secret`, and its
/// clients' tokens are signed with the same secret (docs/protocol.md) or with one of its
/// `signingKeys`, named by the token's `kid`.
public struct App: Sendable, Hashable, Codable {
    public var id: String
    public var secret: String
    /// Where upstream data and user-state callbacks go, if anywhere.
    public var webhook: String?
    /// Opaque; changes only when the app's sequences start again (docs/protocol.md, "Delivery").
    public var epoch: String
    public var createdAt: Date
    /// Delivery settings: TTLs, inbox and broadcast-log bounds, dead letters, token rules.
    public var policy: AppPolicy
    /// Token signing keys besides the secret, oldest first.
    public var signingKeys: [SigningKey]

    public init(
        id: String,
        secret: String,
        webhook: String? = nil,
        epoch: String,
        createdAt: Date,
        policy: AppPolicy = AppPolicy(),
        signingKeys: [SigningKey] = []
    ) {
        self.id = id
        self.secret = secret
        self.webhook = webhook
        self.epoch = epoch
        self.createdAt = createdAt
        self.policy = policy
        self.signingKeys = signingKeys
    }

    private enum CodingKeys: String, CodingKey {
        case id, secret, webhook, epoch, createdAt, policy, signingKeys
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.id = try container.decode(String.self, forKey: .id)
        self.secret = try container.decode(String.self, forKey: .secret)
        self.webhook = try container.decodeIfPresent(String.self, forKey: .webhook)
        self.epoch = try container.decode(String.self, forKey: .epoch)
        self.createdAt = try container.decode(Date.self, forKey: .createdAt)
        self.policy = try container.decodeIfPresent(AppPolicy.self, forKey: .policy) ?? AppPolicy()
        self.signingKeys = try container.decodeIfPresent([SigningKey].self, forKey: .signingKeys) ?? []
    }

    /// The signing key `id`, if the app holds it.
    public func signingKey(id: String) -> SigningKey? {
        self.signingKeys.first { $0.id == id }
    }

    /// App ids: 1 to 64 characters of `A-Z a-z 0-9 - _ .`, so they are safe in paths and logs.
    public static func isValidID(_ id: String) -> Bool {
        guard (1...64).contains(id.utf8.count) else { return false }
        return id.utf8.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."):
                true
            default:
                false
            }
        }
    }
}
