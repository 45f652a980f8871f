/// The body of `POST /v1/apps/{app}/tokens`.
struct TokenRequest: Decodable, Sendable {
    var user: String?
    var device: String?
    /// Seconds.
    var ttl: Int?
    var topics: [String]?
}

/// The answer to a token request.
struct TokenResponse: Encodable, Sendable {
    var token: String
    /// Seconds since 1970.
    var expiresAt: Int64
}
