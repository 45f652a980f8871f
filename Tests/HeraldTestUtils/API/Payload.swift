import Foundation

/// A message payload as the API takes it: `"payload"` (UTF-8 text) or `"payloadBase64"`.
public enum Payload: Sendable, Hashable {
    case text(String)
    case bytes([UInt8])

    /// The bytes a client must receive.
    public var bytes: [UInt8] {
        switch self {
        case .text(let text): Array(text.utf8)
        case .bytes(let bytes): bytes
        }
    }

    /// The request body members carrying this payload.
    public var members: [String: JSONValue] {
        switch self {
        case .text(let text): ["payload": .string(text)]
        case .bytes(let bytes): ["payloadBase64": .string(Data(bytes).base64EncodedString())]
        }
    }
}
