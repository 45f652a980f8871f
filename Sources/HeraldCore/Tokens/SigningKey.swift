#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A key an app's backend signs client tokens with, apart from its API secret: a token that
/// names it in its header (`kid`) is verified with it. An app may hold several, so a new
/// key can be handed out before the old one is retired, and no one is logged out.
public struct SigningKey: Sendable, Hashable, Codable {
    /// The key id, as tokens carry it in `kid`: 1 to 64 characters of `A-Z a-z 0-9 - _ .`.
    public var id: String
    public var secret: String
    public var createdAt: Date

    public init(id: String, secret: String, createdAt: Date) {
        self.id = id
        self.secret = secret
        self.createdAt = createdAt
    }

    /// Keys an app may hold at once.
    public static let maximumPerApp = 16

    /// The keys as stores keep them: JSON, in the order they were added.
    public static func storedJSON(_ keys: [SigningKey]) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.dateEncodingStrategy = .secondsSince1970
        return String(decoding: try encoder.encode(keys), as: UTF8.self)
    }

    /// Reads keys kept by ``storedJSON(_:)``.
    public static func keys(storedJSON json: String) throws -> [SigningKey] {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .secondsSince1970
        return try decoder.decode([SigningKey].self, from: Data(json.utf8))
    }
}
