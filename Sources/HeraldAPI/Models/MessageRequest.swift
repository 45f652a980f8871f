/// The body of `POST /v1/apps/{app}/messages`, and one entry of a batch.
struct MessageRequest: Decodable, Sendable {
    var users: [String]?
    var payload: PayloadFields
    var qos: Int?
    var ttl: Int?
    var collapseKey: String?

    private enum CodingKeys: String, CodingKey {
        case users, payload, payloadBase64, qos, ttl, collapseKey
    }

    init(users: [String]?, payload: PayloadFields, qos: Int?, ttl: Int?, collapseKey: String?) {
        self.users = users
        self.payload = payload
        self.qos = qos
        self.ttl = ttl
        self.collapseKey = collapseKey
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.users = try container.decodeIfPresent([String].self, forKey: .users)
        self.payload = PayloadFields(
            payload: try container.decodeIfPresent(String.self, forKey: .payload),
            payloadBase64: try container.decodeIfPresent(String.self, forKey: .payloadBase64)
        )
        self.qos = try container.decodeIntegerIfPresent(forKey: .qos)
        self.ttl = try container.decodeIntegerIfPresent(forKey: .ttl)
        self.collapseKey = try container.decodeIfPresent(String.self, forKey: .collapseKey)
    }
}
