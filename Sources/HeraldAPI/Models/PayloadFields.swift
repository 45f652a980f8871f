import NIOCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// A payload given as `payload` (UTF-8 text) or `payloadBase64` (bytes): exactly one.
struct PayloadFields: Sendable {
    var payload: String?
    var payloadBase64: String?

    /// The payload's bytes, if it has exactly one form, valid, and at most `limit` bytes.
    func bytes(limit: Int) throws(APIError) -> ByteBuffer {
        switch (self.payload, self.payloadBase64) {
        case (.some, .some):
            throw APIError.badRequest("give either payload or payloadBase64, not both", code: "invalid_payload")
        case (.none, .none):
            throw APIError.badRequest("missing field \"payload\" (or \"payloadBase64\")", code: "invalid_payload")
        case (.some(let text), .none):
            let count = text.utf8.count
            guard count <= limit else { throw APIError.payloadTooLarge(count, limit: limit) }
            return ByteBuffer(string: text)
        case (.none, .some(let encoded)):
            // Base64 is 4/3 of the bytes: reject clearly oversized text before decoding it.
            guard encoded.utf8.count / 4 * 3 <= limit + 3 else {
                throw APIError.payloadTooLarge(encoded.utf8.count / 4 * 3, limit: limit)
            }
            guard let data = Data(base64Encoded: encoded) else {
                throw APIError.badRequest("payloadBase64 is not valid base64", code: "invalid_payload")
            }
            guard data.count <= limit else { throw APIError.payloadTooLarge(data.count, limit: limit) }
            return ByteBuffer(bytes: data)
        }
    }
}
