import NIOCore

/// One protocol frame: a 12-byte header followed by an op-specific body.
///
/// The `length` field of the wire format is not stored: it is always `8 + body.readableBytes`.
public struct Frame: Sendable, Hashable {
    /// The only protocol version this implementation speaks.
    public static let version: UInt8 = 1
    /// Bytes of the header, the length field included.
    public static let headerSize = 12
    /// The smallest legal value of the length field (a frame with an empty body).
    public static let minimumLength = 8
    /// The default upper bound of the length field.
    public static let defaultMaximumLength = 65_536

    public var op: Opcode
    public var flags: FrameFlags
    public var seq: UInt32
    public var body: ByteBuffer

    public init(op: Opcode, flags: FrameFlags = [], seq: UInt32, body: ByteBuffer = ByteBuffer()) {
        self.op = op
        self.flags = flags
        self.seq = seq
        self.body = body
    }

    /// The value of the wire `length` field for this frame.
    public var length: Int { Self.minimumLength + self.body.readableBytes }
}

extension ByteBuffer {
    /// Writes a frame header announcing a body of `bodyLength` bytes.
    @discardableResult
    public mutating func writeFrameHeader(op: Opcode, flags: FrameFlags = [], seq: UInt32, bodyLength: Int) -> Int {
        self.writeMultipleIntegers(
            UInt32(truncatingIfNeeded: Frame.minimumLength + bodyLength),
            Frame.version,
            op.rawValue,
            flags.rawValue,
            seq
        )
    }

    /// A new buffer holding what `write` appends: a frame's body on its own.
    static func body(_ write: (inout ByteBuffer) -> Int) -> ByteBuffer {
        var buffer = ByteBuffer()
        _ = write(&buffer)
        return buffer
    }

    /// Writes a whole frame.
    @discardableResult
    public mutating func writeFrame(_ frame: Frame) -> Int {
        var body = frame.body
        return self.writeFrameHeader(op: frame.op, flags: frame.flags, seq: frame.seq, bodyLength: body.readableBytes)
            + self.writeBuffer(&body)
    }
}
