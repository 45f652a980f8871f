import HeraldWire
import NIOCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The client side of WebSocket that a bench connection needs, on plain buffers: the opening
/// handshake and the framing (RFC 6455), without NIO's upgrader.
///
/// Doing it in the ``BenchConnection`` itself keeps one object per connection and, as in the
/// tests' raw client, loses nothing that a server writes right after its `101` (a
/// `server_busy` ERROR and a close).
enum BenchWebSocket {
    /// Opcodes of RFC 6455.
    enum Opcode: UInt8 {
        case continuation = 0x0
        case text = 0x1
        case binary = 0x2
        case close = 0x8
        case ping = 0x9
        case pong = 0xA
    }

    /// One frame from the server, its payload unmasked.
    struct Frame {
        var fin: Bool
        var opcode: UInt8
        var payload: ByteBuffer
    }

    enum Handshake: Hashable {
        case incomplete
        case accepted
        case refused(String)
    }

    /// A response head longer than this is not a WebSocket handshake answer.
    static let maximumHeadLength = 16_384

    private static let headTerminator: [UInt8] = Array("\r\n\r\n".utf8)

    /// The GET that asks `host:port` to upgrade `path` to WebSocket.
    static func upgradeRequest(host: String, port: Int, path: String, key: [UInt8]) -> ByteBuffer {
        let request =
            "GET \(path) HTTP/1.1\r\n"
            + "Host: \(host):\(port)\r\n"
            + "Upgrade: websocket\r\n"
            + "Connection: Upgrade\r\n"
            + "Sec-WebSocket-Key: \(Data(key).base64EncodedString())\r\n"
            + "Sec-WebSocket-Version: 13\r\n\r\n"
        return ByteBuffer(string: request)
    }

    /// Reads the server's response head from `buffer` once it is all there; the bytes after it
    /// are the first WebSocket frames.
    static func readHandshake(from buffer: inout ByteBuffer) -> Handshake {
        let view = buffer.readableBytesView
        guard let end = view.firstRange(of: Self.headTerminator)?.upperBound else {
            return buffer.readableBytes > Self.maximumHeadLength ? .refused("response head too long") : .incomplete
        }
        let head = buffer.readString(length: end - view.startIndex) ?? ""
        let statusLine = head.split(separator: "\r\n", maxSplits: 1).first ?? ""
        // "HTTP/1.1 101 Switching Protocols"
        let status = statusLine.split(separator: " ", maxSplits: 2).dropFirst().first
        return status == "101" ? .accepted : .refused(String(statusLine))
    }

    /// Removes and returns the next whole frame, or `nil` if its bytes have not all arrived.
    static func nextFrame(from buffer: inout ByteBuffer, maximumPayload: Int) throws(ProtocolError) -> Frame? {
        let start = buffer.readerIndex
        guard let (first, second) = buffer.getMultipleIntegers(at: start, as: (UInt8, UInt8).self) else { return nil }
        let masked = second & 0x80 != 0
        var headerLength = 2
        var payloadLength = Int(second & 0x7F)
        if payloadLength == 126 {
            guard let extended = buffer.getInteger(at: start + 2, as: UInt16.self) else { return nil }
            payloadLength = Int(extended)
            headerLength += 2
        } else if payloadLength == 127 {
            guard let extended = buffer.getInteger(at: start + 2, as: UInt64.self) else { return nil }
            guard extended <= UInt64(maximumPayload) else {
                throw ProtocolError(.frameTooLarge, "WebSocket frame of \(extended) bytes")
            }
            payloadLength = Int(extended)
            headerLength += 8
        }
        guard payloadLength <= maximumPayload else {
            throw ProtocolError(.frameTooLarge, "WebSocket frame of \(payloadLength) bytes")
        }
        var maskKey: UInt32 = 0
        if masked {
            guard let key = buffer.getInteger(at: start + headerLength, as: UInt32.self) else { return nil }
            maskKey = key
            headerLength += 4
        }
        guard buffer.readableBytes >= headerLength + payloadLength else { return nil }
        buffer.moveReaderIndex(forwardBy: headerLength)
        // The length was checked above, so the slice exists.
        guard var payload = buffer.readSlice(length: payloadLength) else { return nil }
        if masked {
            // Servers must not mask; unmask a copy anyway rather than misread it.
            var copy = ByteBuffer()
            copy.writeImmutableBuffer(payload)
            Self.applyMask(maskKey, to: &copy)
            payload = copy
        }
        return Frame(fin: first & 0x80 != 0, opcode: first & 0x0F, payload: payload)
    }

    /// Appends a final client frame: masked with `maskKey`, as RFC 6455 requires of clients.
    static func writeFrame(opcode: Opcode, payload: ByteBuffer, maskKey: UInt32, into buffer: inout ByteBuffer) {
        let length = payload.readableBytes
        buffer.writeInteger(0x80 | opcode.rawValue)
        if length < 126 {
            buffer.writeInteger(0x80 | UInt8(length))
        } else if length <= Int(UInt16.max) {
            buffer.writeInteger(UInt8(0x80 | 126))
            buffer.writeInteger(UInt16(length))
        } else {
            buffer.writeInteger(UInt8(0x80 | 127))
            buffer.writeInteger(UInt64(length))
        }
        buffer.writeInteger(maskKey)
        let payloadStart = buffer.writerIndex
        buffer.writeImmutableBuffer(payload)
        Self.applyMask(maskKey, to: &buffer, from: payloadStart)
    }

    /// XORs the bytes from `start` (default: the reader index) with the mask key.
    static func applyMask(_ maskKey: UInt32, to buffer: inout ByteBuffer, from start: Int? = nil) {
        let from = start ?? buffer.readerIndex
        let count = buffer.writerIndex - from
        guard count > 0 else { return }
        let offset = from - buffer.readerIndex
        buffer.withUnsafeMutableReadableBytes { bytes in
            for index in 0..<count {
                bytes[offset + index] ^= UInt8(truncatingIfNeeded: maskKey >> (24 - 8 * UInt32(index & 3)))
            }
        }
    }
}
