import HTTPTypes
import Hummingbird
import NIOCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Encodes answers as JSON.
enum JSONResponse {
    private static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    static func make(_ status: HTTPResponse.Status, _ value: some Encodable) -> Response {
        // Our answer types hold strings, numbers, dates and arrays of them: encoding cannot fail.
        let data =
            (try? Self.encoder.encode(value))
            ?? Data(#"{"error":{"code":"internal","message":"encoding failed"}}"#.utf8)
        return Self.response(status, body: ByteBuffer(bytes: data))
    }

    /// The same answer for a type that writes its JSON itself (the same bytes, faster).
    static func make(_ status: HTTPResponse.Status, _ value: some JSONWritable) -> Response {
        var body = ByteBuffer()
        value.writeJSON(into: &body)
        return Self.response(status, body: body)
    }

    private static func response(_ status: HTTPResponse.Status, body: ByteBuffer) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/json; charset=utf-8"
        headers[.contentLength] = String(body.readableBytes)
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: body))
    }
}
