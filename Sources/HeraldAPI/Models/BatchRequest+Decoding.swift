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
        guard scanner.take(UInt8(ascii: "{")) else { return nil }
        repeat {
            guard let key = Self.key(&scanner) else { return nil }
            if key.elementsEqual("messages".utf8) {
                guard messages == nil, let entries = Self.entries(&scanner) else { return nil }
                messages = entries
            } else {
                // Members the decoder would ignore, if they are plain.
                guard scanner.skipPlainValue() else { return nil }
            }
            scanner.skipWhitespace()
        } while scanner.take(UInt8(ascii: ","))
        guard scanner.take(UInt8(ascii: "}")) else { return nil }
        scanner.skipWhitespace()
        guard scanner.isAtEnd, let messages else { return nil }
        return BatchRequest(messages: messages)
    }

    /// `"key":` with whitespace around; the key's bytes.
    fileprivate static func key(_ scanner: inout PlainJSONScanner) -> UnsafeBufferPointer<UInt8>? {
        scanner.skipWhitespace()
        guard let key = scanner.plainString() else { return nil }
        scanner.skipWhitespace()
        guard scanner.take(UInt8(ascii: ":")) else { return nil }
        scanner.skipWhitespace()
        return key
    }

    private static func entries(_ scanner: inout PlainJSONScanner) -> [Entry]? {
        scanner.array { scanner in MessageRequest.plain(&scanner).map { Entry(message: .success($0)) } }
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
        guard scanner.take(UInt8(ascii: "{")) else { return nil }
        var users: [String]?
        var payload: String?
        var payloadBase64: String?
        var qos: Int?
        var ttl: Int?
        var collapseKey: String?
        scanner.skipWhitespace()
        if !scanner.take(UInt8(ascii: "}")) {
            repeat {
                guard let key = BatchRequest.key(&scanner) else { return nil }
                switch key.count {
                case 5 where key.elementsEqual("users".utf8):
                    guard users == nil, let value = scanner.array({ $0.plainText() }) else { return nil }
                    users = value
                case 7 where key.elementsEqual("payload".utf8):
                    guard payload == nil, let value = scanner.plainText() else { return nil }
                    payload = value
                case 13 where key.elementsEqual("payloadBase64".utf8):
                    guard payloadBase64 == nil, let value = scanner.plainText() else { return nil }
                    payloadBase64 = value
                case 3 where key.elementsEqual("qos".utf8):
                    guard qos == nil, let value = scanner.integer() else { return nil }
                    qos = Int(value)
                case 3 where key.elementsEqual("ttl".utf8):
                    guard ttl == nil, let value = scanner.integer() else { return nil }
                    ttl = Int(value)
                case 11 where key.elementsEqual("collapseKey".utf8):
                    guard collapseKey == nil, let value = scanner.plainText() else { return nil }
                    collapseKey = value
                default:
                    guard scanner.skipPlainValue() else { return nil }
                }
                scanner.skipWhitespace()
            } while scanner.take(UInt8(ascii: ","))
            guard scanner.take(UInt8(ascii: "}")) else { return nil }
        }
        return MessageRequest(
            users: users,
            payload: PayloadFields(payload: payload, payloadBase64: payloadBase64),
            qos: qos,
            ttl: ttl,
            collapseKey: collapseKey
        )
    }
}
