import NIOCore

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// JSON bodies: decoding is strict about shape (an object with the right fields and
/// types), tolerant of unknown fields so that a newer peer can add some.
public enum WireJSON {
    /// Decodes a frame body as `T`, mapping every failure to `bad_frame`.
    public static func decode<T: Decodable>(_ type: T.Type, from body: ByteBuffer, op: Opcode) throws(ProtocolError) -> T {
        guard body.readableBytes > 0 else {
            throw .badFrame("\(op) body is empty; a JSON object is required")
        }
        do {
            return try JSONDecoder().decode(T.self, from: Data(body.readableBytesView))
        } catch {
            throw .badFrame("\(op) body is not a JSON object of the right fields: \(Self.describe(error))")
        }
    }

    /// Encodes `value` as JSON and appends it to `buffer`.
    @discardableResult
    public static func write<T: Encodable>(_ value: T, into buffer: inout ByteBuffer) -> Int {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Encoding our own plain structs of strings, numbers and booleans cannot fail.
        let data = (try? encoder.encode(value)) ?? Data("{}".utf8)
        return buffer.writeBytes(data)
    }

    /// Encodes `value` as a JSON body buffer.
    public static func body<T: Encodable>(_ value: T) -> ByteBuffer {
        var buffer = ByteBuffer()
        Self.write(value, into: &buffer)
        return buffer
    }

    private static func describe(_ error: any Error) -> String {
        switch error {
        case DecodingError.keyNotFound(let key, _): "missing field \"\(key.stringValue)\""
        case DecodingError.typeMismatch(_, let context): "wrong type at \(Self.path(context.codingPath))"
        case DecodingError.valueNotFound(_, let context): "null at \(Self.path(context.codingPath))"
        case DecodingError.dataCorrupted(let context):
            context.codingPath.isEmpty ? "malformed JSON" : "bad value at \(Self.path(context.codingPath))"
        default: "malformed JSON"
        }
    }

    private static func path(_ codingPath: [any CodingKey]) -> String {
        codingPath.isEmpty ? "top level" : codingPath.map(\.stringValue).joined(separator: ".")
    }
}
