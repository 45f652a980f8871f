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

    public init(app: String, sub: String, dev: String? = nil, exp: Int64, topics: [String]? = nil) {
        self.app = app
        self.sub = sub
        self.dev = dev
        self.exp = exp
        self.topics = topics
    }

    /// The device id the session is for.
    public var device: String { self.dev ?? Self.defaultDevice }

    public static let defaultDevice = "default"

    /// Largest user and device ids, in bytes.
    public static let maximumIdentifierLength = 256

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.app = try container.decode(String.self, forKey: .app)
        self.sub = try container.decode(String.self, forKey: .sub)
        self.dev = try container.decodeIfPresent(String.self, forKey: .dev)
        // NumericDate may carry a fraction; whole seconds are enough here.
        let exp = try container.decode(Double.self, forKey: .exp)
        guard exp.isFinite, exp > -9e15, exp < 9e15 else {
            throw DecodingError.dataCorruptedError(forKey: .exp, in: container, debugDescription: "exp out of range")
        }
        self.exp = Int64(exp.rounded(.down))
        self.topics = try container.decodeIfPresent([String].self, forKey: .topics)
    }
}
