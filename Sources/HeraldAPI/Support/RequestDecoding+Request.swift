import Hummingbird
import NIOCore

extension RequestDecoding {
    /// Reads a request's body up to `limit` and decodes it (see ``decode(_:body:plain:)``):
    /// 413 for a body over the limit.
    static func decode<T: Decodable>(
        _ type: T.Type,
        from request: Request,
        limit: Int,
        plain: ((UnsafeBufferPointer<UInt8>) -> T?)? = nil
    ) async throws -> T {
        if let declared = request.headers[.contentLength].flatMap({ Int($0) }), declared > limit {
            throw Self.tooLarge(limit)
        }
        var request = request
        let buffer: ByteBuffer
        do {
            buffer = try await request.collectBody(upTo: limit)
        } catch is NIOTooManyBytesError {
            throw Self.tooLarge(limit)
        }
        return try Self.decode(type, body: buffer, plain: plain)
    }

    private static func tooLarge(_ limit: Int) -> APIError {
        APIError(.contentTooLarge, "body_too_large", "request body is larger than \(limit) bytes")
    }
}
