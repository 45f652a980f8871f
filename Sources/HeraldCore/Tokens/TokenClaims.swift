/// The claims of a client token (docs/protocol.md, "Authentication and sessions").
public struct TokenClaims: Codable, Sendable, Hashable {
    /// The app id.
    public var app: String
    /// The user id.
    public var sub: String
    /// The device id; `"default"` when absent.
    public var dev: String?
    /// Expiry, seconds since 1970.
    public var exp: Int64
    /// Topic names, or prefixes ending in `*`, that the session may subscribe to; `nil` means any.
    public var topics: [String]?
    /// When the token was issued, seconds since 1970.
    public var iat: Int64?
    /// Not valid before, seconds since 1970.
    public var nbf: Int64?

    public init(
        app: String, sub: String, dev: String? = nil, exp: Int64, topics: [String]? = nil, iat: Int64? = nil,
        nbf: Int64? = nil
    ) {
        self.app = app
        self.sub = sub
        self.dev = dev
        self.exp = exp
        self.topics = topics
        self.iat = iat
        self.nbf = nbf
    }

    /// The device id the session is for.
    public var device: String { self.dev ?? Self.defaultDevice }

    public static let defaultDevice = "default"

    /// Largest user and device ids, in bytes.
    public static let maximumIdentifierLength = 256

    private enum CodingKeys: String, CodingKey {
        case app, sub, dev, exp, topics, iat, nbf
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.app = try container.decode(String.self, forKey: .app)
        self.sub = try container.decode(String.self, forKey: .sub)
        self.dev = try container.decodeIfPresent(String.self, forKey: .dev)
        // NumericDate may carry a fraction; whole seconds are enough here.
        self.exp = try Self.numericDate(.exp, in: container)
        self.topics = try container.decodeIfPresent([String].self, forKey: .topics)
        self.iat = container.contains(.iat) ? try Self.numericDate(.iat, in: container) : nil
        self.nbf = container.contains(.nbf) ? try Self.numericDate(.nbf, in: container) : nil
    }

    /// A NumericDate, which may carry a fraction; whole seconds are enough here.
    private static func numericDate(_ key: CodingKeys, in container: KeyedDecodingContainer<CodingKeys>) throws -> Int64 {
        let value = try container.decode(Double.self, forKey: key)
        guard value.isFinite, value > -9e15, value < 9e15 else {
            throw DecodingError.dataCorruptedError(
                forKey: key, in: container, debugDescription: "\(key.stringValue) out of range")
        }
        return Int64(value.rounded(.down))
    }
}
