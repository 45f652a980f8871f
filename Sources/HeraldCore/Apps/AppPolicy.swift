/// An app's delivery settings: how long and how much is kept for its users.
///
/// Defaults follow what push services commonly do: a message waits up to 7 days for its
/// user by default (28 at most, as FCM), an inbox keeps the newest 1,000 messages, and the
/// broadcast log keeps 1,000 broadcasts for an hour.
public struct AppPolicy: Sendable, Hashable, Codable {
    /// Bounds each field must stay within.
    public static let inboxLimitRange = 1...100_000
    public static let ttlRange = 1...(366 * 24 * 3600)
    public static let broadcastLimitRange = 0...100_000

    /// Kept QoS 1 messages per user; past it the oldest leave as dead letters `inbox_full`.
    public var inboxLimit: Int
    /// Seconds a QoS 1 message is kept when the push gives no `ttl`.
    public var defaultTTL: Int
    /// The largest `ttl` a push may ask for, in seconds.
    public var maxTTL: Int
    /// Seconds a broadcast stays replayable when the broadcast gives no `ttl`.
    public var broadcastTTL: Int
    /// Broadcasts kept for replay (0 keeps none).
    public var broadcastLimit: Int
    /// What happens to a QoS 1 message that dies unacknowledged.
    public var deadLetters: DeadLetterPolicy
    /// The longest a client token may be valid, in seconds (`exp` less `iat`, or less now
    /// when it has no `iat`); nil: no bound.
    public var maxTokenLifetime: Int?
    /// Whether tokens signed with the API secret (without `kid`) are accepted; false once
    /// the app signs only with its signing keys.
    public var secretSignedTokens: Bool

    public init(
        inboxLimit: Int = 1000,
        defaultTTL: Int = 7 * 24 * 3600,
        maxTTL: Int = 28 * 24 * 3600,
        broadcastTTL: Int = 3600,
        broadcastLimit: Int = 1000,
        deadLetters: DeadLetterPolicy = .keep,
        maxTokenLifetime: Int? = nil,
        secretSignedTokens: Bool = true
    ) {
        self.inboxLimit = inboxLimit
        self.defaultTTL = defaultTTL
        self.maxTTL = maxTTL
        self.broadcastTTL = broadcastTTL
        self.broadcastLimit = broadcastLimit
        self.deadLetters = deadLetters
        self.maxTokenLifetime = maxTokenLifetime
        self.secretSignedTokens = secretSignedTokens
    }

    /// The first rule the policy breaks, if any, as a sentence for an API error.
    public var violation: String? {
        if !Self.inboxLimitRange.contains(self.inboxLimit) {
            return "inboxLimit must be between \(Self.inboxLimitRange.lowerBound) and \(Self.inboxLimitRange.upperBound)"
        }
        for (name, value) in [("defaultTTL", self.defaultTTL), ("maxTTL", self.maxTTL), ("broadcastTTL", self.broadcastTTL)]
        where !Self.ttlRange.contains(value) {
            return "\(name) must be between \(Self.ttlRange.lowerBound) and \(Self.ttlRange.upperBound) seconds"
        }
        if self.defaultTTL > self.maxTTL {
            return "defaultTTL must not exceed maxTTL"
        }
        if !Self.broadcastLimitRange.contains(self.broadcastLimit) {
            return "broadcastLimit must be between \(Self.broadcastLimitRange.lowerBound) and \(Self.broadcastLimitRange.upperBound)"
        }
        if let lifetime = self.maxTokenLifetime, !Self.ttlRange.contains(lifetime) {
            return "maxTokenLifetime must be between \(Self.ttlRange.lowerBound) and \(Self.ttlRange.upperBound) seconds"
        }
        return nil
    }

    private enum CodingKeys: String, CodingKey {
        case inboxLimit, defaultTTL, maxTTL, broadcastTTL, broadcastLimit, deadLetters, maxTokenLifetime
        case secretSignedTokens
    }

    /// Every field, `maxTokenLifetime` as null when unset, so the policy reads complete.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(self.inboxLimit, forKey: .inboxLimit)
        try container.encode(self.defaultTTL, forKey: .defaultTTL)
        try container.encode(self.maxTTL, forKey: .maxTTL)
        try container.encode(self.broadcastTTL, forKey: .broadcastTTL)
        try container.encode(self.broadcastLimit, forKey: .broadcastLimit)
        try container.encode(self.deadLetters, forKey: .deadLetters)
        try container.encode(self.maxTokenLifetime, forKey: .maxTokenLifetime)
        try container.encode(self.secretSignedTokens, forKey: .secretSignedTokens)
    }

    /// Missing fields take their defaults, so a partial policy is accepted.
    public init(from decoder: any Decoder) throws {
        let defaults = AppPolicy()
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.inboxLimit = try container.decodeIfPresent(Int.self, forKey: .inboxLimit) ?? defaults.inboxLimit
        self.defaultTTL = try container.decodeIfPresent(Int.self, forKey: .defaultTTL) ?? defaults.defaultTTL
        self.maxTTL = try container.decodeIfPresent(Int.self, forKey: .maxTTL) ?? defaults.maxTTL
        self.broadcastTTL = try container.decodeIfPresent(Int.self, forKey: .broadcastTTL) ?? defaults.broadcastTTL
        self.broadcastLimit =
            try container.decodeIfPresent(Int.self, forKey: .broadcastLimit) ?? defaults.broadcastLimit
        self.deadLetters =
            try container.decodeIfPresent(DeadLetterPolicy.self, forKey: .deadLetters) ?? defaults.deadLetters
        self.maxTokenLifetime = try container.decodeIfPresent(Int.self, forKey: .maxTokenLifetime)
        self.secretSignedTokens =
            try container.decodeIfPresent(Bool.self, forKey: .secretSignedTokens) ?? defaults.secretSignedTokens
    }
}

/// What happens to a QoS 1 message that dies before any device acknowledged it.
public enum DeadLetterPolicy: String, Sendable, Hashable, Codable, CaseIterable {
    /// Kept in the dead-letter table (bounded), listed by the API.
    case keep
    /// Dropped; only counted in metrics.
    case drop
}
