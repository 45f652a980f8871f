import HeraldCore

/// The body of `POST /v1/apps`.
struct CreateAppRequest: Decodable, Sendable {
    /// The fields `policy` may hold; any other is refused rather than ignored, so a
    /// misspelt setting is not silently left at its default.
    static let policyFields: Set<String> = [
        "inboxLimit", "defaultTTL", "maxTTL", "broadcastTTL", "broadcastLimit", "deadLetters", "maxTokenLifetime",
        "secretSignedTokens",
    ]

    /// The numeric ones, checked first for a clear answer to `1.5` or `1e30`.
    static let policyIntegerFields = [
        "inboxLimit", "defaultTTL", "maxTTL", "broadcastTTL", "broadcastLimit", "maxTokenLifetime",
    ]

    var id: String?
    var secret: String?
    var webhook: String?
    /// The app's delivery settings, missing fields at their defaults; a failure is the
    /// sentence for the `invalid_policy` answer.
    var policy: Result<AppPolicy, APIError>?

    private enum CodingKeys: String, CodingKey {
        case id, secret, webhook, policy
    }

    private struct FieldName: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.id = try container.decodeIfPresent(String.self, forKey: .id)
        self.secret = try container.decodeIfPresent(String.self, forKey: .secret)
        self.webhook = try container.decodeIfPresent(String.self, forKey: .webhook)
        guard container.contains(.policy), try !container.decodeNil(forKey: .policy) else {
            self.policy = nil
            return
        }
        do {
            let fields = try container.nestedContainer(keyedBy: FieldName.self, forKey: .policy)
            let unknown = fields.allKeys.map(\.stringValue).filter { !Self.policyFields.contains($0) }
            if let unknown = unknown.sorted().first {
                throw APIError.invalidPolicy("policy has no field \"\(Printable.clip(unknown))\"")
            }
            for name in Self.policyIntegerFields {
                _ = try fields.decodeIntegerIfPresent(forKey: FieldName(stringValue: name))
            }
            self.policy = .success(try container.decode(AppPolicy.self, forKey: .policy))
        } catch let error as DecodingError {
            self.policy = .failure(.invalidPolicy(RequestDecoding.describe(error)))
        } catch let error as APIError {
            self.policy = .failure(error)
        }
    }
}
