import NIOCore

/// The body of PUSH: `u16 session`, `u8 kind`, `u8 topicLength`, the topic, the payload.
public struct PushBody: Sendable, Hashable {
    /// Topics are at most 255 bytes of UTF-8: their length is one byte on the wire.
    public static let maximumTopicLength = 255
    /// Bytes of the body before the topic.
    public static let fixedSize = 4

    public var session: UInt16
    public var kind: PushKind
    public var topic: String
    public var payload: ByteBuffer

    public init(session: UInt16, kind: PushKind, topic: String = "", payload: ByteBuffer) {
        self.session = session
        self.kind = kind
        self.topic = topic
        self.payload = payload
    }

    /// Parses a PUSH body.
    public init(decoding body: ByteBuffer) throws(ProtocolError) {
        var body = body
        guard let (session, rawKind, topicLength) = body.readMultipleIntegers(as: (UInt16, UInt8, UInt8).self) else {
            throw .badFrame("PUSH body is shorter than 4 bytes")
        }
        guard let kind = PushKind(rawValue: rawKind) else {
            throw .badFrame("PUSH kind \(rawKind) is unknown")
        }
        guard let topicBytes = body.readSlice(length: Int(topicLength)) else {
            throw .badFrame("PUSH topic is truncated")
        }
        guard let topic = String(validatingUTF8Bytes: topicBytes.readableBytesView) else {
            throw .badFrame("PUSH topic is not UTF-8")
        }
        if kind != .topic && !topic.isEmpty {
            throw .badFrame("PUSH of kind \(rawKind) carries a topic")
        }
        self.init(session: session, kind: kind, topic: topic, payload: body)
    }

    /// Bytes this body takes on the wire.
    public var encodedLength: Int {
        Self.fixedSize + Self.encodedTopicLength(self.topic) + self.payload.readableBytes
    }

    /// Bytes of `topic` written on the wire: all of it, or for a topic over 255 bytes the longest
    /// prefix that fits and ends on a Unicode scalar boundary, so that the topic stays valid UTF-8.
    public static func encodedTopicLength(_ topic: String) -> Int {
        let utf8 = topic.utf8
        guard utf8.count > Self.maximumTopicLength else { return utf8.count }
        var length = Self.maximumTopicLength
        // Step back over a scalar that the cut would split: its continuation bytes are 0b10xxxxxx.
        while length > 0, utf8[utf8.index(utf8.startIndex, offsetBy: length)] & 0xC0 == 0x80 {
            length -= 1
        }
        return length
    }

    /// Appends the body to `buffer`. The topic must be at most 255 bytes.
    @discardableResult
    public func write(into buffer: inout ByteBuffer) -> Int {
        Self.write(session: self.session, kind: self.kind, topic: self.topic, payload: self.payload, into: &buffer)
    }

    /// Appends a PUSH body without building a `PushBody` first.
    @discardableResult
    public static func write(
        session: UInt16, kind: PushKind, topic: String, payload: ByteBuffer, into buffer: inout ByteBuffer
    ) -> Int {
        let topicBytes = topic.utf8.prefix(Self.encodedTopicLength(topic))
        var written = buffer.writeMultipleIntegers(session, kind.rawValue, UInt8(topicBytes.count))
        written += buffer.writeBytes(topicBytes)
        written += buffer.writeImmutableBuffer(payload)
        return written
    }
}

extension String {
    /// Decodes UTF-8, returning `nil` for invalid sequences instead of repairing them.
    init?(validatingUTF8Bytes bytes: some Collection<UInt8>) {
        self.init(validating: bytes, as: UTF8.self)
    }
}
