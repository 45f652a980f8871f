/// The body of `POST /v1/apps/{app}/broadcasts`.
struct BroadcastRequest: Decodable, Sendable {
    var payload: PayloadFields
    /// Seconds the broadcast is kept for replay.
    var ttl: Int?

    private enum CodingKeys: String, CodingKey {
        case payload, payloadBase64, ttl
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.payload = PayloadFields(
            payload: try container.decodeIfPresent(String.self, forKey: .payload),
            payloadBase64: try container.decodeIfPresent(String.self, forKey: .payloadBase64)
        )
        self.ttl = try container.decodeIntegerIfPresent(forKey: .ttl)
    }
}

/// The answer to a broadcast.
struct BroadcastResponse: Encodable, Sendable {
    var seq: UInt32
    var sessions: Int
}
