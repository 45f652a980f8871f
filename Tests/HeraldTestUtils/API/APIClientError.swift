/// An API call that did not answer as the helper expected.
public struct APIClientError: Error, CustomStringConvertible {
    public var message: String
    /// The answer, when there was one.
    public var response: APIResponse?

    public init(_ message: String, response: APIResponse? = nil) {
        self.message = message
        self.response = response
    }

    public var description: String {
        if let response = self.response { return "\(self.message): \(response)" }
        return self.message
    }
}
