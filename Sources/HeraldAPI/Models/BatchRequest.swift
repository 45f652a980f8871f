/// The body of `POST /v1/apps/{app}/messages/batch`.
///
/// Each entry decodes on its own, so one mistyped message gets its own error in the answer
/// while the others are sent.
struct BatchRequest: Decodable, Sendable {
    struct Entry: Decodable, Sendable {
        var message: Result<MessageRequest, APIError>

        init(message: Result<MessageRequest, APIError>) {
            self.message = message
        }

        init(from decoder: any Decoder) throws {
            do {
                self.message = .success(try MessageRequest(from: decoder))
            } catch let error as DecodingError {
                self.message = .failure(.badRequest(RequestDecoding.describe(error), code: "invalid_field"))
            }
        }
    }

    var messages: [Entry]
}
