import NIOCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Decodes request bodies as JSON, turning every failure into a clear ``APIError``: 400 for
/// anything malformed, and 413 for a body over the limit (RequestDecoding+Request.swift reads
/// the body; this file stays free of Hummingbird, for the fuzz package).
enum RequestDecoding {
    /// `plain`, when given, reads the common shape of the body directly and answers nil for
    /// anything else, which `JSONDecoder` then reads (see ``BatchRequest/plain(_:)``).
    static func decode<T: Decodable>(
        _ type: T.Type,
        body buffer: ByteBuffer,
        plain: ((UnsafeBufferPointer<UInt8>) -> T?)? = nil
    ) throws -> T {
        guard buffer.readableBytes > 0 else {
            throw APIError.badRequest("the request body must be a JSON object", code: "malformed_json")
        }
        if let plain,
            let value = buffer.withUnsafeReadableBytes({ plain($0.assumingMemoryBound(to: UInt8.self)) })
        {
            return value
        }
        do {
            return try JSONDecoder().decode(T.self, from: Data(buffer.readableBytesView))
        } catch let error as DecodingError {
            throw APIError.badRequest(Self.describe(error), code: Self.code(for: error))
        }
    }

    /// A sentence naming the field at fault, for a 400 answer.
    static func describe(_ error: DecodingError) -> String {
        switch error {
        case .keyNotFound(let key, let context):
            return "missing field \"\(Self.path(context.codingPath + [key]))\""
        case .valueNotFound(_, let context):
            return "field \"\(Self.path(context.codingPath))\" must not be null"
        case .typeMismatch(let type, let context):
            if context.codingPath.isEmpty { return "the request body must be a JSON object" }
            return "field \"\(Self.path(context.codingPath))\" must be \(Self.describe(type))"
        case .dataCorrupted(let context):
            if context.codingPath.isEmpty { return "the request body is not valid JSON" }
            return
                "field \"\(Self.path(context.codingPath))\" is invalid: \(Printable.clip(context.debugDescription, limit: 200))"
        @unknown default:
            return "the request body is malformed"
        }
    }

    private static func code(for error: DecodingError) -> String {
        if case .dataCorrupted(let context) = error, context.codingPath.isEmpty { return "malformed_json" }
        return "invalid_field"
    }

    private static func path(_ keys: [any CodingKey]) -> String {
        var path = ""
        for key in keys {
            if let index = key.intValue {
                path += "[\(index)]"
            } else {
                path += path.isEmpty ? key.stringValue : "." + key.stringValue
            }
        }
        return path.isEmpty ? "(body)" : path
    }

    private static func describe(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: "a string"
        case is Int.Type, is Int64.Type, is UInt32.Type: "an integer"
        case is Bool.Type: "a boolean"
        case is [String].Type: "an array of strings"
        case is [Any].Type: "an array"
        default: type == [String: Any].self ? "an object" : "of another type"
        }
    }
}
