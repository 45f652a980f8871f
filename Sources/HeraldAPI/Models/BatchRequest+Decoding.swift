import HeraldWire

extension BatchRequest {
    /// The batch in a body of plain JSON, as backends usually send one: every message an
    /// object whose members are strings of printable ASCII without escapes, integers of at most
    /// 15 digits or arrays of such strings, each known member at most once, whitespace between
    /// tokens. Nil for anything else, which `JSONDecoder` reads (and reads the same way).
    static func plain(_ bytes: UnsafeBufferPointer<UInt8>) -> BatchRequest? {
        var scanner = PlainJSONScanner(bytes)
        var messages: [Entry]?
        scanner.skipWhitespace()
        let read = scanner.object { key, scanner in
            // Members the decoder would ignore are skipped, if they are plain.
            guard key.elementsEqual("messages".utf8) else { return scanner.skipPlainValue() }
            return scanner.readOnce(into: &messages) { scanner in
                scanner.array { scanner in MessageRequest.plain(&scanner).map { Entry(message: .success($0)) } }
            }
        }
        scanner.skipWhitespace()
        guard read, scanner.isAtEnd, let messages else { return nil }
        return BatchRequest(messages: messages)
    }
}

extension MessageRequest {
    /// A body of one message in plain JSON (as ``BatchRequest/plain(_:)`` reads each of a
    /// batch's); nil for anything else, which `JSONDecoder` reads.
    static func plain(_ bytes: UnsafeBufferPointer<UInt8>) -> MessageRequest? {
        var scanner = PlainJSONScanner(bytes)
        scanner.skipWhitespace()
        guard let message = Self.plain(&scanner) else { return nil }
        scanner.skipWhitespace()
        return scanner.isAtEnd ? message : nil
    }

    /// One message of a plain batch (see ``BatchRequest/plain(_:)``), the scanner at its `{`.
    static func plain(_ scanner: inout PlainJSONScanner) -> MessageRequest? {
        var users: [String]?
        var payload: String?
        var payloadBase64: String?
        var qos: Int64?
        var ttl: Int64?
        var collapseKey: String?
        let read = scanner.object { key, scanner in
            switch key.count {
            case 5 where key.elementsEqual("users".utf8):
                scanner.readOnce(into: &users) { scanner in scanner.array { $0.plainText() } }
            case 7 where key.elementsEqual("payload".utf8): scanner.readOnce(into: &payload) { $0.plainText() }
            case 13 where key.elementsEqual("payloadBase64".utf8):
                scanner.readOnce(into: &payloadBase64) { $0.plainText() }
            case 3 where key.elementsEqual("qos".utf8): scanner.readOnce(into: &qos) { $0.integer() }
            case 3 where key.elementsEqual("ttl".utf8): scanner.readOnce(into: &ttl) { $0.integer() }
            case 11 where key.elementsEqual("collapseKey".utf8): scanner.readOnce(into: &collapseKey) { $0.plainText() }
            default: scanner.skipPlainValue()
            }
        }
        guard read else { return nil }
        return MessageRequest(
            users: users,
            payload: PayloadFields(payload: payload, payloadBase64: payloadBase64),
            qos: qos.map { Int($0) },
            ttl: ttl.map { Int($0) },
            collapseKey: collapseKey
        )
    }
}
