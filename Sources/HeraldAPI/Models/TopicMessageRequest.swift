/// The body of `POST /v1/apps/{app}/topics/{topic}/messages`.
struct TopicMessageRequest: Decodable, Sendable {
    var payload: PayloadFields

    private enum CodingKeys: String, CodingKey {
        case payload, payloadBase64
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.payload = PayloadFields(
            payload: try container.decodeIfPresent(String.self, forKey: .payload),
            payloadBase64: try container.decodeIfPresent(String.self, forKey: .payloadBase64)
        )
    }
}

/// The answer to a topic message (and other answers that only count sessions).
struct SessionsResponse: Encodable, Sendable {
    var sessions: Int
}
