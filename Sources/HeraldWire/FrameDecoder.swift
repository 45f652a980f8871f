import NIOCore

/// Splits a byte stream into frames and validates each header as soon as its bytes arrive.
///
/// The decoder holds no buffer of its own: the caller keeps the accumulated bytes and
/// calls ``next(from:)`` until it returns `nil` (more bytes needed). A header that is
/// invalid is rejected before its body arrives, so a hostile peer cannot make the
/// server wait for, or buffer, a body it will refuse anyway.
public struct FrameDecoder: Sendable {
    /// The largest value of the length field that is accepted.
    public var maximumLength: Int

    public init(maximumLength: Int = Frame.defaultMaximumLength) {
        precondition(maximumLength >= Frame.minimumLength)
        self.maximumLength = maximumLength
    }

    /// Removes and returns the next complete frame from `buffer`, or `nil` if its bytes
    /// have not all arrived yet. Throws on the first byte that makes the frame invalid.
    public func next(from buffer: inout ByteBuffer) throws(ProtocolError) -> Frame? {
        try self.validateHeader(buffer)
        guard buffer.readableBytes >= 4, let length = buffer.getInteger(at: buffer.readerIndex, as: UInt32.self),
            buffer.readableBytes >= 4 + Int(length)
        else {
            return nil
        }
        // The header was validated above, so the reads below cannot fail.
        guard
            let (_, _, rawOp, rawFlags, seq) = buffer.readMultipleIntegers(
                as: (UInt32, UInt8, UInt8, UInt16, UInt32).self
            ),
            let op = Opcode(rawValue: rawOp),
            let body = buffer.readSlice(length: Int(length) - Frame.minimumLength)
        else {
            throw .badFrame("truncated frame")
        }
        return Frame(op: op, flags: FrameFlags(rawValue: rawFlags), seq: seq, body: body)
    }

    /// Decodes a buffer that must hold exactly one frame, as a WebSocket binary message does.
    public func single(from buffer: ByteBuffer) throws(ProtocolError) -> Frame {
        var buffer = buffer
        guard let frame = try self.next(from: &buffer) else {
            throw .badFrame("message holds an incomplete frame")
        }
        guard buffer.readableBytes == 0 else {
            throw .badFrame("message holds more than one frame")
        }
        return frame
    }

    /// Checks whatever part of the header has arrived.
    private func validateHeader(_ buffer: ByteBuffer) throws(ProtocolError) {
        let start = buffer.readerIndex
        let available = buffer.readableBytes
        guard available >= 4, let length = buffer.getInteger(at: start, as: UInt32.self) else { return }
        if length < UInt32(Frame.minimumLength) {
            throw .badFrame("length \(length) is below \(Frame.minimumLength)")
        }
        if length > UInt32(self.maximumLength) {
            throw ProtocolError(.frameTooLarge, "length \(length) is above the limit of \(self.maximumLength)")
        }
        guard available >= 5, let version = buffer.getInteger(at: start + 4, as: UInt8.self) else { return }
        if version != Frame.version {
            throw ProtocolError(.unsupportedVersion, "version \(version) is not supported; this server speaks 1")
        }
        guard available >= 6, let rawOp = buffer.getInteger(at: start + 5, as: UInt8.self) else { return }
        guard let op = Opcode(rawValue: rawOp) else {
            throw ProtocolError(.unknownOp, "op \(rawOp) is unknown")
        }
        guard available >= 8, let rawFlags = buffer.getInteger(at: start + 6, as: UInt16.self) else { return }
        let flags = FrameFlags(rawValue: rawFlags)
        if !FrameFlags.defined.isSuperset(of: flags) {
            throw .badFrame("reserved flag bits are set (0x\(String(rawFlags, radix: 16)))")
        }
        if flags.contains(.ackRequired) && op != .push {
            throw .badFrame("ACK_REQUIRED is only valid on PUSH")
        }
    }
}
