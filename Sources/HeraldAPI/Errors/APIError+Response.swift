import Hummingbird

extension APIError: HTTPResponseError {
    func response(from request: Request, context: some RequestContext) throws -> Response {
        self.response()
    }

    func response() -> Response {
        var response = JSONResponse.make(
            self.status,
            ErrorEnvelope(error: .init(code: self.code, message: self.message))
        )
        response.headers.append(contentsOf: self.headers)
        return response
    }

    private struct ErrorEnvelope: Encodable {
        struct Body: Encodable {
            var code: String
            var message: String
        }

        var error: Body
    }
}
