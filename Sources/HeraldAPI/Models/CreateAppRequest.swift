/// The body of `POST /v1/apps`.
struct CreateAppRequest: Decodable, Sendable {
    var id: String?
    var secret: String?
    var webhook: String?
}
