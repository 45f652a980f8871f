import HTTPTypes

/// The answer to a batch: one result per message, in order.
struct BatchResponse: Encodable, Sendable {
    enum Result: Encodable, Sendable {
        case sent(MessageResponse)
        case failed(APIError)

        private struct Failure: Encodable {
            struct Body: Encodable {
                var status: Int
                var code: String
                var message: String
            }

            var error: Body
        }

        func encode(to encoder: any Encoder) throws {
            switch self {
            case .sent(let response):
                try response.encode(to: encoder)
            case .failed(let error):
                try Failure(error: .init(status: error.status.code, code: error.code, message: error.message))
                    .encode(to: encoder)
            }
        }
    }

    var results: [Result]
}
