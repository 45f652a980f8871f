import NIOCore

/// The header of a frame the server sends (RFC 6455): never masked, always final.
enum WebSocketServerFrame {
    static let binary: UInt8 = 0x2
    static let close: UInt8 = 0x8
    static let pong: UInt8 = 0xA

    /// Bytes of the header for a payload of `length`.
    static func headerSize(payloadLength length: Int) -> Int {
        length < 126 ? 2 : (length <= Int(UInt16.max) ? 4 : 10)
    }

    /// Appends the header of a final, unmasked frame of `opcode` with `length` bytes.
    static func writeHeader(opcode: UInt8, payloadLength length: Int, into buffer: inout ByteBuffer) {
        buffer.writeInteger(0x80 | opcode)
        if length < 126 {
            buffer.writeInteger(UInt8(length))
        } else if length <= Int(UInt16.max) {
            buffer.writeInteger(UInt8(126))
            buffer.writeInteger(UInt16(length))
        } else {
            buffer.writeInteger(UInt8(127))
            buffer.writeInteger(UInt64(length))
        }
    }
}
