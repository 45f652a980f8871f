import NIOCore
import NIOWebSocket

/// Reads RFC 6455 frames sent by a client and joins fragmented messages, with no channel
/// inside: bytes in, events out.
///
/// A frame is read only when it is complete, so a partial one stays in the caller's buffer.
/// Client frames must be masked, reserved bits must be clear (no extension is negotiated),
/// control frames must be whole and at most 125 bytes, and a message may not exceed
/// `maxMessageSize`: anything else fails with the close code to send.
struct WebSocketFrameParser: Sendable {
    /// What a complete frame or message means.
    enum Event: Sendable, Equatable {
        /// A whole binary message, unmasked.
        case binary(ByteBuffer)
        /// A text message, or its first fragment: the protocol refuses those.
        case text
        case ping(ByteBuffer)
        case pong
        /// A close frame, with its status code if it has one.
        case close(WebSocketErrorCode?)
    }

    /// Why the frames cannot be read on: the connection closes with `code`.
    struct Failure: Error, Sendable, Equatable {
        var code: WebSocketErrorCode
        var reason: String
    }

    /// Raised once the connection authenticated (``WebSocketFrameCodec/raiseMessageLimit(to:)``).
    var maxMessageSize: Int
    /// The fragments of a binary message so far, while it is incomplete.
    private var fragments: ByteBuffer?

    init(maxMessageSize: Int) {
        self.maxMessageSize = maxMessageSize
    }

    /// The next event from the frames at the front of `buffer`, consuming them; nil when no
    /// complete frame is there yet (nothing is consumed).
    mutating func next(from buffer: inout ByteBuffer) throws(Failure) -> Event? {
        while true {
            guard let (opcode, fin, payload) = try self.readFrame(from: &buffer) else { return nil }
            if let event = try self.handle(opcode: opcode, fin: fin, payload: payload) {
                return event
            }
        }
    }

    /// One whole frame, unmasked, or nil when it is not all there yet.
    private func readFrame(from buffer: inout ByteBuffer) throws(Failure) -> (WebSocketOpcode, Bool, ByteBuffer)? {
        var view = buffer
        guard let (first, second) = view.readMultipleIntegers(as: (UInt8, UInt8).self) else { return nil }
        guard first & 0x70 == 0 else { throw Failure(code: .protocolError, reason: "reserved bits set") }
        guard let opcode = WebSocketOpcode(encodedWebSocketOpcode: first & 0x0F), Self.isKnown(opcode) else {
            throw Failure(code: .protocolError, reason: "unknown opcode")
        }
        let fin = first & 0x80 != 0
        guard second & 0x80 != 0 else { throw Failure(code: .protocolError, reason: "client frames must be masked") }
        let length: UInt64
        switch second & 0x7F {
        case 126:
            guard let extended = view.readInteger(as: UInt16.self) else { return nil }
            length = UInt64(extended)
        case 127:
            guard let extended = view.readInteger(as: UInt64.self) else { return nil }
            length = extended
        case let short:
            length = UInt64(short)
        }
        if opcode.isControlOpcode {
            guard fin, length <= 125 else {
                throw Failure(code: .protocolError, reason: "control frames must be whole and at most 125 bytes")
            }
        } else {
            let joined = UInt64(self.fragments?.readableBytes ?? 0)
            guard length <= UInt64(self.maxMessageSize) - min(joined, UInt64(self.maxMessageSize)) else {
                throw Failure(code: .messageTooLarge, reason: "message over \(self.maxMessageSize) bytes")
            }
        }
        guard let maskBytes = view.readBytes(length: 4), let mask = WebSocketMaskingKey(maskBytes),
            var payload = view.readSlice(length: Int(length))
        else { return nil }
        payload.webSocketUnmask(mask)
        buffer = view
        return (opcode, fin, payload)
    }

    /// The opcodes RFC 6455 defines; the others are reserved.
    private static func isKnown(_ opcode: WebSocketOpcode) -> Bool {
        switch opcode {
        case .continuation, .text, .binary, .connectionClose, .ping, .pong: true
        default: false
        }
    }

    private mutating func handle(opcode: WebSocketOpcode, fin: Bool, payload: ByteBuffer) throws(Failure) -> Event? {
        switch opcode {
        case .binary, .text:
            guard self.fragments == nil else {
                throw Failure(code: .protocolError, reason: "a new message started before the last one ended")
            }
            if opcode == .text { return .text }
            if fin { return .binary(payload) }
            self.fragments = payload
            return nil
        case .continuation:
            guard var fragments = self.fragments else {
                throw Failure(code: .protocolError, reason: "continuation frame without a message")
            }
            self.fragments = nil
            var payload = payload
            fragments.writeBuffer(&payload)
            if fin { return .binary(fragments) }
            self.fragments = fragments
            return nil
        case .ping:
            return .ping(payload)
        case .pong:
            return .pong
        case .connectionClose:
            var payload = payload
            guard payload.readableBytes != 1 else {
                throw Failure(code: .protocolError, reason: "a close frame's status code takes two bytes")
            }
            return .close(payload.readWebSocketErrorCode())
        default:
            throw Failure(code: .protocolError, reason: "unknown opcode")
        }
    }
}
