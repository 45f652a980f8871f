import HeraldWire
import NIOCore

/// Finds the next frame in received bytes without copying or allocating, and reads a PUSH
/// (sequence, flags, kind and the ``BenchPayload`` stamp) straight from the buffer.
///
/// Every other op is rare for a bench client; ``BenchConnection`` decodes those fully with
/// `FrameDecoder` and `ServerMessage`.
enum BenchFrameScanner {
    /// A PUSH, as much of it as the bench needs.
    struct Push: Hashable, Sendable {
        var seq: UInt32
        var ackRequired: Bool
        var session: UInt16
        var kind: PushKind
        /// The payload's ``BenchPayload`` stamp, if it has one.
        var sentAt: UInt64?
    }

    enum Result: Hashable, Sendable {
        /// The frame's bytes have not all arrived.
        case incomplete
        /// A PUSH of `length` bytes (header included).
        case push(Push, length: Int)
        /// Any other op, `length` bytes with the header.
        case other(length: Int)
        case invalid(ProtocolError)
    }

    /// Looks at the frame that starts at `buffer`'s reader index.
    static func scan(_ buffer: ByteBuffer, maximumLength: Int) -> Result {
        let start = buffer.readerIndex
        guard let length = buffer.getInteger(at: start, as: UInt32.self) else { return .incomplete }
        guard length >= UInt32(Frame.minimumLength) else {
            return .invalid(ProtocolError(.badFrame, "length \(length) is below \(Frame.minimumLength)"))
        }
        guard length <= UInt32(maximumLength) else {
            return .invalid(ProtocolError(.frameTooLarge, "length \(length) is above \(maximumLength)"))
        }
        let total = 4 + Int(length)
        guard buffer.readableBytes >= total,
            let (version, rawOp, rawFlags, seq) = buffer.getMultipleIntegers(
                at: start + 4,
                as: (UInt8, UInt8, UInt16, UInt32).self
            )
        else { return .incomplete }
        guard version == Frame.version else {
            return .invalid(ProtocolError(.unsupportedVersion, "version \(version) is not supported"))
        }
        guard rawOp == Opcode.push.rawValue else { return .other(length: total) }

        let flags = FrameFlags(rawValue: rawFlags)
        guard FrameFlags.defined.isSuperset(of: flags) else {
            return .invalid(ProtocolError(.badFrame, "reserved flag bits are set"))
        }
        let bodyStart = start + Frame.headerSize
        let bodyLength = Int(length) - Frame.minimumLength
        guard bodyLength >= PushBody.fixedSize,
            let (session, rawKind, topicLength) = buffer.getMultipleIntegers(
                at: bodyStart,
                as: (UInt16, UInt8, UInt8).self
            )
        else {
            return .invalid(ProtocolError(.badFrame, "PUSH body is shorter than 4 bytes"))
        }
        guard let kind = PushKind(rawValue: rawKind) else {
            return .invalid(ProtocolError(.badFrame, "PUSH kind \(rawKind) is unknown"))
        }
        let payloadLength = bodyLength - PushBody.fixedSize - Int(topicLength)
        guard payloadLength >= 0 else {
            return .invalid(ProtocolError(.badFrame, "PUSH topic is truncated"))
        }
        let payloadStart = bodyStart + PushBody.fixedSize + Int(topicLength)
        var sentAt: UInt64?
        if payloadLength >= BenchPayload.headerSize,
            buffer.getInteger(at: payloadStart, as: UInt32.self) == BenchPayload.marker
        {
            sentAt = buffer.getInteger(at: payloadStart + 4, as: UInt64.self)
        }
        let push = Push(
            seq: seq,
            ackRequired: flags.contains(.ackRequired),
            session: session,
            kind: kind,
            sentAt: sentAt
        )
        return .push(push, length: total)
    }
}
