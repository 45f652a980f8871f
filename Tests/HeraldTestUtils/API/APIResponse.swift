import Foundation

/// One HTTP answer from the API: status, headers and body, with JSON helpers.
public struct APIResponse: Sendable, CustomStringConvertible {
    public var status: Int
    /// Header names lowercased.
    public var headers: [String: String]
    public var body: Data

    public init(status: Int, headers: [String: String], body: Data) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// The body parsed as JSON, or `nil` if it is not JSON.
    public var json: JSONValue? { try? JSONDecoder().decode(JSONValue.self, from: self.body) }

    /// The body as text.
    public var text: String { String(decoding: self.body, as: UTF8.self) }

    /// `error.code` of an error answer `{"error": {"code", "message"}}`.
    public var errorCode: String? { self.json?["error"]?["code"]?.string }

    /// `error.message` of an error answer.
    public var errorMessage: String? { self.json?["error"]?["message"]?.string }

    /// The `Content-Type` header.
    public var contentType: String? { self.headers["content-type"] }

    /// Decodes the body as `T`.
    public func decode<T: Decodable>(_ type: T.Type = T.self) throws -> T {
        do {
            return try JSONDecoder().decode(T.self, from: self.body)
        } catch {
            throw APIClientError("cannot decode \(T.self) from \(self): \(error)")
        }
    }

    public var description: String { "HTTP \(self.status) \(self.text.prefix(2_000))" }
}
