/// An app id and its secret, as `POST /v1/apps` answers.
public struct AppCredentials: Sendable, Hashable, Codable {
    public var id: String
    public var secret: String

    public init(id: String, secret: String) {
        self.id = id
        self.secret = secret
    }
}
